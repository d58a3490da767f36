"""Rational beta: radicals for degree <= 4, Galois groups for 5 and 6, checked a second way."""

import json

import pytest
import sympy as sp
from click.testing import CliRunner

from symscale.base.errors import InputError
from symscale.cli import main
from symscale.verify.closed_forms import (
    analyse,
    discriminant_is_square,
    exact,
    galois,
    instance_polynomial,
    parse_beta,
    quintic_second_opinion,
    sign_changes,
)

RHO = exact(2e12) / 3
CHIN = dict(alpha=0.336, A=406.4, B=410.7, E=1.69)


@pytest.mark.parametrize("beta, degree", [("1/2", 3), ("1", 2), ("2", 3), ("3", 4), ("1/3", 4)])
def test_radicals_match_solver_and_mpmath(beta, degree):
    result = analyse(beta, 1.947, RHO, dps=50, **CHIN)
    assert result.degree == degree and result.solvable is True and result.radical is not None
    assert result.checks["radical_vs_numeric_relative"] < 1e-12
    assert result.checks["radical_vs_mpmath_digits"] >= 40
    assert sp.Float(sp.N(result.radical, 30)) == pytest.approx(result.checks and float(result.tokens_radical))


def test_degree_five_is_not_solvable_two_ways():
    result = analyse("1/4", 1.947, RHO, dps=30, **CHIN)
    assert result.degree == 5 and result.group == "S5" and result.solvable is False and result.radical is None
    # Second method: Frobenius cycle types (Dedekind) and the discriminant, without galois_group.
    second = quintic_second_opinion(result.polynomial)
    assert second["verdict_not_solvable"] is True and second["discriminant_square"] is False
    assert result.polynomial.is_irreducible


def test_solvable_quintic_is_recognised():
    t = sp.Symbol("t", positive=True)
    poly = sp.Poly(t**5 - 2, t)  # Kummer: Galois group F20, solvable
    name, solvable, order = galois(poly)
    assert solvable and order == 20
    assert quintic_second_opinion(poly)["verdict_not_solvable"] is False
    assert discriminant_is_square(sp.Poly(t**5 + 20 * t + 16, t)) is True  # an A5 quintic: square discriminant


def test_degree_six_and_higher():
    six = analyse("1/5", 1.947, RHO, dps=30, **CHIN)
    assert six.degree == 6 and six.group == "S6" and six.solvable is False
    assert six.checks["discriminant_square"] is False
    high = analyse("0.283", 1.947, RHO, dps=30, **CHIN)
    assert high.degree == 1283 and high.solvable is None and high.group is None
    assert high.checks["numeric_solver_relative_difference"] < 1e-12


def test_polynomial_shape_and_descartes():
    poly = instance_polynomial(sp.Rational(1, 2), 1.947, RHO, **CHIN)
    assert poly.degree() == 3 and sign_changes(poly) == 1
    assert exact(406.4) == sp.Rational(2032, 5)


def test_cost_objective_any_coefficients():
    result = analyse("1/2", 2.3, exact(4e-5) / exact(3.2e-17), alpha=0.18, A=33.66, B=138.9, E=1.45, dps=40)
    assert result.checks["radical_vs_mpmath_digits"] >= 35


@pytest.mark.parametrize("text, value", [("1/2", sp.Rational(1, 2)), ("0.5", sp.Rational(1, 2)), ("2", 2),
                                         ("0.3333333333333333", sp.Rational(1, 3))])
def test_parse_beta(text, value):
    assert parse_beta(text)[0] == value


@pytest.mark.parametrize("text", ["1/0", "abc", "-1/2", "0", "0.28318530717958", "1/2/3"])
def test_parse_beta_rejects(text):
    with pytest.raises(InputError):
        parse_beta(text)


def test_cli_json_and_errors():
    out = CliRunner().invoke(main, ["closed-form", "--beta", "1/2", "--inference-tokens", "2e12", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["inference_tokens"] == 2e12 and data["rho"] == pytest.approx(2e12 / 3, rel=1e-15)
    assert data["degree"] == 3 and data["solvable_by_radicals"] is True and data["galois_group"] is None
    assert data["radical"] and data["tokens"] == pytest.approx(data["tokens_numeric_solver"], rel=1e-12)
    out = CliRunner().invoke(main, ["closed-form", "--beta", "1/4", "--inference-tokens", "2e12", "--json",
                                    "--dps", "30"])
    data = json.loads(out.output)
    assert data["galois_group"] == "S5" and data["solvable_by_radicals"] is False and data["tokens"] is None
    for bad in ("1/0", "abc", "-2"):
        out = CliRunner().invoke(main, ["closed-form", "--beta", bad])
        assert out.exit_code == 2 and out.output.count("\n") == 1 and "Error:" in out.output
    out = CliRunner().invoke(main, ["closed-form", "--beta", "1/2", "--loss", "1.5"])
    assert out.exit_code == 2 and "unreachable" in out.output


def test_closed_form_cost_objective_matches_solve():
    """`closed-form --objective cost` uses the same weights as `solve --objective cost`."""
    import json

    from click.testing import CliRunner

    from symscale.cli import main

    hardware = ["--train-gpu", "A100-80GB", "--inference-gpu", "A100-40GB", "--inference-dtype", "int8",
                "--requests", "1e10", "--input-tokens", "1000", "--output-tokens", "250"]
    runner = CliRunner()
    closed = json.loads(runner.invoke(main, ["closed-form", "--beta", "1/2", "--objective", "cost", *hardware,
                                             "--json"]).stdout)
    solved = json.loads(runner.invoke(main, ["solve", "--objective", "cost", "--loss", "1.947", "--beta", "0.5",
                                             *hardware, "--json"]).stdout)
    assert closed["degree"] == 3
    assert closed["tokens"] == pytest.approx(solved["optimal"]["tokens"], rel=1e-12)


def test_cli_demand_is_zero_unless_given():
    """No hidden demand: without a demand option rho is 0 (Chinchilla's case), and the output says so."""
    out = CliRunner().invoke(main, ["closed-form", "--beta", "1/2", "--json"])
    data = json.loads(out.output)
    assert out.exit_code == 0 and data["inference_tokens"] == 0 and data["rho"] == 0
    out = CliRunner().invoke(main, ["closed-form", "--beta", "1/2"])
    assert out.output.startswith("Lifetime inference demand: 0 tokens; rho = k_inf/k_train = 0\n")
    help_text = " ".join(CliRunner().invoke(main, ["closed-form", "--help"]).output.split())
    assert "2e12" not in help_text.replace("e.g. 2e12", "") and "Demand is 0 unless given" in help_text
