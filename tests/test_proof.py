"""The Appendix A check: every right step passes, the c > 0 claim is flagged."""

import json
import re

import pytest
import sympy as sp
from click.testing import CliRunner

from symscale.cli import main
from symscale.verify.proof import check_proof, get_step, normalise_step_id


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
    assert out.exit_code == 0 and out.output.startswith("Inputs: loss 1.947") and "\n\n[eq11]" in out.output
    out = CliRunner().invoke(main, ["check-proof", "--interactive"], input="\nq\n")
    assert out.exit_code == 0 and "(2/13)" in out.output and "(3/13)" not in out.output
    out = CliRunner().invoke(main, ["check-proof", "--step", "99"])
    assert out.exit_code == 2 and "unknown step" in out.output


def test_other_coefficients():
    step = get_step("numeric-form", "epoch-2024")
    assert step.holds and "epoch-2024" in step.detail


def test_counts_agree_with_table_and_json():
    out = CliRunner().invoke(main, ["check-proof"])
    table = re.findall(r"^\S+\s+.*\s(holds|imprecise|fails)$", out.stdout.split("\n\n[")[0], re.M)
    counts = {v: table.count(v) for v in ("holds", "imprecise", "fails")}
    assert sum(counts.values()) == 13
    assert f"13 steps: {counts['holds']} hold, {counts['imprecise']} imprecise, {counts['fails']} fail" in out.stdout
    data = json.loads(CliRunner().invoke(main, ["check-proof", "--json"]).stdout)
    assert data["counts"] == counts and [s["verdict"] for s in data["steps"]].count("fails") == counts["fails"]


def test_no_none_or_float_noise():
    out = CliRunner().invoke(main, ["check-proof", "--coefficients", "epoch-2024"]).stdout
    assert "None" not in out and "group=" not in out
    assert not re.search(r"\d\.\d{9,}", out), re.search(r".{30}\d\.\d{9,}.{10}", out)
    assert "D_inf*D_inf" not in out and "N*N**alpha" not in out
    flat = " ".join(out.split())  # long lines are wrapped at 120 characters
    assert "a*x^-1.366 + 4278.79*x^-0.3658 + c = 0 with a = 731.12*D_inf" in flat


@pytest.mark.parametrize("args, needle", [
    (["--step", ""], "--step '': give a step id"),
    (["--E", "2.5"], "the default loss 1.947 is not above the law's floor E = 2.5 (chinchilla with --E 2.5)"),
    (["--loss", "1.5"], "--loss 1.5 is not above the law's floor E = 1.69"),
    (["--loss", "2", "--chinchilla-params", "7B"], "exactly one of --loss"),
    (["--requests", "1e9"], "requests need tokens per request"),
    (["--step", "99"], "unknown step '99'"),
])
def test_bad_inputs_one_line_exit_2(args, needle):
    out = CliRunner().invoke(main, ["check-proof", *args])
    assert out.exit_code == 2 and needle in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, loss, demand", [
    (["--loss", "2.0", "--inference-tokens", "5T"], 2.0, 5e12),
    (["--chinchilla-params", "70B", "--requests-per-day", "1e6", "--days", "100", "--tokens-per-request", "500"],
     None, 5e10),
    (["--loss", "2.1", "--requests", "1e9", "--input-tokens", "70", "--output-tokens", "215"], 2.1, 2.85e11),
])
def test_takes_solves_inputs(args, loss, demand):
    data = json.loads(CliRunner().invoke(main, ["check-proof", "--step", "12", "--json", *args]).stdout)
    assert data["inference_tokens"] == pytest.approx(demand)
    if loss is not None:
        assert data["loss"] == loss
    else:
        from symscale.solvers.solve import chinchilla, loss_of

        model = chinchilla(params=70e9)
        assert data["loss"] == pytest.approx(float(loss_of(model.params, model.tokens)))
    assert data["steps"][0]["check"]["ok"] is True


def test_report_and_step_display():
    report = check_proof()
    html = report._repr_html_()
    assert html.count("<tr>") == 14 and "claim-c" in html and ">fails<" in html and "13 steps: 10 hold" in html
    step = report[8]
    assert step.id == "claim-c" and "c = -0.257 &lt; 0" in step._repr_html_()
    assert "\\mathrm{loss}" in step._repr_latex_()


def test_one_step_json_counts_that_step():
    data = json.loads(CliRunner().invoke(main, ["check-proof", "--step", "claim-c", "--json"]).stdout)
    assert [s["id"] for s in data["steps"]] == ["claim-c"]
    assert data["counts"] == {"holds": 0, "imprecise": 0, "fails": 1} and data["failed"] == ["claim-c"]


def test_unreachable_inputs_in_python():
    report = check_proof(loss=1.5)
    by_id = {s.id: s for s in report}
    assert by_id["eq12"].check.ok is None
    assert "no optimum: loss 1.5 is not above E = 1.69" in by_id["eq12"].check.lines[0]
    assert by_id["root"].check.ok and "no root" in by_id["root"].check.lines[0]
    assert "the instances use E + 0.25 instead" in by_id["theorem"].detail
    assert report.counts() == {"holds": 10, "imprecise": 2, "fails": 1}
