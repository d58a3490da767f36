"""The public Python API takes a law: symscale.solve_compute_optimal and symscale.costs.solve_cost_optimal."""

from __future__ import annotations

import numpy as np
import pytest

import symscale
from symscale.base.errors import InputError
from symscale.costs import CostSettings, solve_cost_optimal
from symscale.laws.registry import laws
from symscale.laws.values import LawCoefficients

CHINCHILLA_TEXT = "E + A/N**alpha + B/D**beta"


def test_law_by_name_equals_explicit_coefficients():
    kaplan = laws()["kaplan-2020"]
    explicit = LawCoefficients(kaplan, kaplan.presets["kaplan-2020"]["values"])
    by_name = symscale.solve_compute_optimal(2.5, 2e12, law="kaplan-2020")
    direct = symscale.solve_compute_optimal(2.5, 2e12, explicit)
    assert by_name.optimal.params == direct.optimal.params
    assert by_name.optimal.tokens == direct.optimal.tokens
    assert by_name.optimal.params < by_name.baseline.params   # demand makes the model smaller


def test_chinchilla_as_a_formula_agrees_with_the_fast_path():
    values = symscale.preset("chinchilla").as_dict()
    fast = symscale.solve_compute_optimal(1.947, 2e12)
    generic = symscale.solve_compute_optimal(1.947, 2e12, values, law=CHINCHILLA_TEXT)
    np.testing.assert_allclose(generic.optimal.params, fast.optimal.params, rtol=1e-10)
    np.testing.assert_allclose(generic.optimal.tokens, fast.optimal.tokens, rtol=1e-10)
    cost_fast = solve_cost_optimal(1.947, CostSettings(requests=1e9))
    cost_generic = solve_cost_optimal(1.947, CostSettings(requests=1e9), values, law=CHINCHILLA_TEXT)
    np.testing.assert_allclose(cost_generic.optimal.params, cost_fast.optimal.params, rtol=1e-10)


def test_cli_names_an_unknown_preset_of_the_law(tmp_path):
    from click.testing import CliRunner

    from symscale.cli import main

    result = CliRunner().invoke(main, ["solve", "--law", "kaplan-2020", "--coefficients", "nope", "--loss", "2.5",
                                       "--inference-tokens", "1e12"])
    assert result.exit_code == 2
    assert "unknown preset 'nope' of the law kaplan-2020; its presets: kaplan-2020" in result.output


def test_law_chinchilla_by_name_takes_a_preset_or_a_dict():
    assert symscale.solve_compute_optimal(2.0, 1e12, "epoch-2024", law="chinchilla").optimal.params == \
        symscale.solve_compute_optimal(2.0, 1e12, "epoch-2024").optimal.params
    values = symscale.preset("chinchilla").as_dict()
    assert symscale.solve_compute_optimal(2.0, 1e12, values, law="chinchilla").optimal.params == \
        symscale.solve_compute_optimal(2.0, 1e12).optimal.params


@pytest.mark.parametrize("law, coefficients, message", [
    ("kaplan-2020", "nope", "unknown preset 'nope' of the law kaplan-2020"),
    (CHINCHILLA_TEXT + " + C/N", None, "has no presets"),
    ("kaplan-2020", symscale.preset("chinchilla"), "belong to the law chinchilla"),
    ("chinchilla", {"E": 1.69}, "no value for coefficient"),
])
def test_bad_law_arguments_are_one_clear_error(law, coefficients, message):
    with pytest.raises(InputError, match=message):
        symscale.solve_compute_optimal(2.5, 1e12, coefficients, law=law)
