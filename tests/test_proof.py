"""The Appendix A check: every right step passes, the c > 0 claim is flagged."""

import json

import pytest
import sympy as sp
from click.testing import CliRunner

from symscale.cli import main
from symscale.proof import check_proof, get_step, normalise_step_id


@pytest.fixture(scope="module")
def steps():
    return {s.id: s for s in check_proof()}


def test_verdicts(steps):
    assert [i for i, s in steps.items() if not s.holds] == ["claim-c"]
    for key in ("eq7", "eq8", "eq9", "eq10", "eq11", "eq12", "numeric-form", "root", "minimum", "chinchilla-limit"):
        assert steps[key].verdict == "holds", key
    assert steps["claim-a"].verdict == "imprecise" and steps["theorem"].verdict == "imprecise"


def test_numbers(steps):
    assert steps["numeric-form"].extra["coefficient"] == pytest.approx(756.617, abs=1e-3)
    assert "c = E - loss" in steps["claim-c"].detail or "E - loss" in str(steps["claim-c"])
    assert steps["theorem"].extra["instances"]["1/4"]["group"] == "S5"


def test_steps_are_objects(steps):
    eq11 = steps["eq11"]
    assert sp.simplify(eq11.derived.rhs - eq11.paper.rhs) == 0
    assert "\\alpha" in eq11.latex() and eq11._repr_latex_().startswith("$$")
    assert str(eq11).startswith("[eq11]")


def test_step_ids():
    assert normalise_step_id("11") == "eq11" and normalise_step_id("Eq. 12") == "eq12"


def test_cli():
    out = CliRunner().invoke(main, ["check-proof", "--json"])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert {"id", "title", "holds", "detail"} <= set(data["steps"][0]) and data["failed"] == ["claim-c"]
    out = CliRunner().invoke(main, ["check-proof", "--step", "11"])
    assert out.exit_code == 0 and out.output.startswith("[eq11]")
    out = CliRunner().invoke(main, ["check-proof", "--interactive"], input="\nl\nq\n")
    assert out.exit_code == 0 and "(2/13)" in out.output and "(3/13)" not in out.output
    out = CliRunner().invoke(main, ["check-proof", "--step", "99"])
    assert out.exit_code == 2 and "unknown step" in out.output


def test_other_coefficients():
    step = get_step("numeric-form", "epoch-2024")
    assert step.holds and "epoch-2024" in step.detail
