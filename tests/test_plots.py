"""`symscale plot`: the plotted data of Figures 2 and 6 and of a scenario curve, not only that files appear."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from symscale.base.errors import InputError  # noqa: E402
from symscale.report import plots as P  # noqa: E402
from symscale.solvers.solve import loss_of  # noqa: E402

LOSSES = np.linspace(1.85, 2.6, 16)
TOKENS = np.geomspace(1e8, 1e14, 25)
PER_REQUEST = 285.0


@pytest.fixture(scope="module")
def fig2():
    return P.ratio_grid(LOSSES, TOKENS, "compute")


@pytest.fixture(scope="module")
def fig6():
    return P.ratio_grid(LOSSES, TOKENS / PER_REQUEST, "cost")


def test_ratios_near_one_at_low_demand_and_falling_with_demand(fig2, fig6):
    for grid in (fig2, fig6):
        assert grid.total.shape == grid.params.shape == grid.tokens.shape == (16, 25)
        assert np.all(grid.total[:, 0] > 0.97) and np.all(grid.params[:, 0] > 0.8)
        assert np.all(np.diff(grid.total, axis=1) <= 1e-12)      # more demand, more saving
        assert np.all(np.diff(grid.params, axis=1) < 0)          # smaller models
        assert np.all(np.diff(grid.tokens, axis=1) > 0)          # trained longer
        assert np.all(grid.params <= 1 + 1e-12) and np.all(grid.tokens >= 1 - 1e-12)
    assert fig2.total[:, -1].max() < 0.7 and fig2.total[:, -1].min() < 0.2   # large savings at 1e14 tokens


def test_cost_falls_faster_than_compute_at_equal_token_demand(fig2, fig6):
    """Figure 6 vs Figure 2: with output tokens at 1% MFU, the cost ratio falls earlier and further."""
    assert np.all(fig6.total <= fig2.total + 1e-12)
    assert np.all(fig6.params <= fig2.params + 1e-12)
    assert np.all((fig2.total - fig6.total).max(axis=1) > 0.3)
    first_below = [TOKENS[np.argmax(grid.total < 0.9, axis=1)] for grid in (fig2, fig6)]  # per loss
    assert np.all(first_below[0] >= 5 * first_below[1])        # the cost ratio drops at ~10x less demand


def test_grid_points_agree_with_table2_and_section6():
    """A 13B-quality point at 1T tokens is Table 2 row 3 (8.5% saving); a 70B-quality point at 2T tokens
    gives Section 6's 1.3% extra FLOPs of the Chinchilla model."""
    from symscale.laws.coefficients import preset
    from symscale.scenarios.sweep import losses_for

    levels = losses_for(np.array([13e9, 70e9]), "chinchilla_params", preset())
    grid = P.ratio_grid(levels, [1e12, 2e12], "compute")
    assert 1 - grid.total[0, 0] == pytest.approx(0.085, abs=5e-4)
    assert 1 / grid.total[1, 1] - 1 == pytest.approx(0.013, abs=5e-4)


def test_the_figure_draws_exactly_the_grid(fig2):
    fig = P.figure_ratios(fig2)
    meshes = [ax.collections[0] for ax in fig.axes if ax.collections and hasattr(ax.collections[0], "get_array")
              and ax.get_xscale() == "log"]
    assert len(meshes) == 3
    for mesh, values in zip(meshes, (fig2.total, fig2.params, fig2.tokens)):
        assert np.allclose(np.asarray(mesh.get_array()).reshape(values.shape), values)
    texts = [fig._suptitle.get_text()] + [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
    assert any("α=0.336" in t for t in texts) and any("(tokens)" in t for t in texts)
    assert any("nats/token" in t for t in texts)
    P.require_matplotlib().close(fig)


def test_cost_title_states_the_settings(fig6):
    fig = P.figure_ratios(fig6, settings=P.paper_figure6_settings())
    title = fig._suptitle.get_text()
    assert "A100-80GB" in title and "A100-40GB int8" in title and "1% (output)" in title and "70 input" in title
    P.require_matplotlib().close(fig)


@pytest.mark.parametrize("objective, demand", [("compute", 2e12), ("cost", 1.5e9)])
def test_scenario_curve_lies_on_the_iso_loss_curve_with_its_minimum_at_the_optimum(objective, demand):
    loss = 2.045
    curve = P.scenario_curve(loss, demand, objective)
    assert np.allclose(loss_of(curve.params, curve.tokens), loss, rtol=1e-10)
    assert np.allclose(curve.total, curve.train + curve.inference)
    key = "total_flops" if objective == "compute" else "total_cost"
    assert curve.optimal[key] <= curve.total.min() * (1 + 1e-9)
    assert curve.optimal[key] < curve.baseline[key]
    best = curve.params[np.argmin(curve.total)]
    assert best == pytest.approx(curve.optimal["params"], rel=0.05)
    assert curve.params.min() < curve.optimal["params"] < curve.baseline["params"] < curve.params.max()


def test_scenario_figure_marks_both_points():
    curve = P.scenario_curve(2.045, 2e12)
    fig = P.figure_scenario(curve)
    ax = fig.axes[0]
    marked = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert sorted(float(line.get_xdata()[0]) for line in marked) == pytest.approx(
        sorted([curve.optimal["params"], curve.baseline["params"]]))
    assert "FLOPs" in ax.get_ylabel() and "parameters" in ax.get_xlabel()
    P.require_matplotlib().close(fig)


def test_cli_writes_png_and_svg(run_cli, tmp_path):
    png, svg = tmp_path / "fig2.png", tmp_path / "fig6.svg"
    code, _, err = run_cli("plot", "fig2", "-o", png, "--loss", "1.9:2.5:12", "--inference-tokens", "1e9:1e13:15")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run_cli("plot", "fig6", "-o", svg, "--loss", "1.9:2.5:12", "--requests", "1e6:1e10:15",
                           "--decode-mfu", "0.02")
    assert code == 0, err
    assert b"<svg" in svg.read_bytes()[:400]
    scenario = tmp_path / "s.png"
    code, _, err = run_cli("plot", "scenario", "--objective", "cost", "--chinchilla-params", "30B",
                           "--requests", "1.5e9",
                           "-o", scenario)
    assert code == 0 and scenario.stat().st_size > 10_000, err


@pytest.mark.parametrize("args, message", [
    (["fig2", "-o", "x.jpg", "--loss", "2", "--inference-tokens", "1e12"], "png or *.svg"),
    (["scenario", "--loss", "2", "--requests", "1e9", "-o", "x.png"], "requests need tokens per request"),
    (["scenario", "--loss", "2", "--inference-tokens", "1e9", "--paper-settings", "-o", "x.png"],
     "--paper-settings is an option of the cost objective"),
    (["scenario", "--loss", "1.2", "--inference-tokens", "1e12", "-o", "x.png"], "unreachable"),
])
def test_cli_bad_input(run_cli, args, message):
    code, _, err = run_cli("plot", *args)
    assert code == 2 and message in err


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InputError, match=r"symscale\[plot\]"):
        P.require_matplotlib()


def test_plot_json_reports_the_drawn_data(tmp_path):
    """`plot ... --json` prints the output path and the very arrays that were drawn."""
    import json

    import numpy as np
    from click.testing import CliRunner

    from symscale.cli import main
    from symscale.report.plots import ratio_grid

    out = tmp_path / "f.png"
    result = CliRunner().invoke(main, ["plot", "fig2", "-o", str(out), "--json", "--loss", "1.9:2.2:3",
                                       "--inference-tokens", "1e9:1e12:4"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and out.is_file() and data["output"] == str(out)
    grid = ratio_grid(np.linspace(1.9, 2.2, 3), np.geomspace(1e9, 1e12, 4), "compute")
    np.testing.assert_allclose(data["data"]["total"], grid.total, rtol=1e-12)


def test_cli_old_loss_grid_name_and_scenario_demand_forms(run_cli, tmp_path):
    """--loss-grid still works (one note); plot scenario takes solve's demand forms and states what it used."""
    import json

    base = ("plot", "fig2", "--inference-tokens", "1e9:1e12:3", "--json")
    code, new, _ = run_cli(*base, "-o", tmp_path / "a.png", "--loss", "1.9:2.2:3")
    code_old, old, err = run_cli(*base, "-o", tmp_path / "a.png", "--loss-grid", "1.9:2.2:3")
    assert code == code_old == 0 and json.loads(new)["data"] == json.loads(old)["data"]
    assert err == "Note: --loss-grid is deprecated, use --loss GRID; the old name will be removed\n"
    code, out, err = run_cli("plot", "scenario", "--loss", "2", "--requests-per-day", "1e6", "--days", "100",
                             "--tokens-per-request", "500", "-o", tmp_path / "s.svg", "--json")
    data = json.loads(out)
    assert code == 0 and data["objective"] == "compute" and data["data"]["demand"] == pytest.approx(5e10)
    assert data["settings"] is None and data["coefficients"]["name"] == "chinchilla"
    code, out, _ = run_cli("plot", "scenario", "--loss", "2", "-o", tmp_path / "s.svg", "--json")
    assert code == 0 and json.loads(out)["data"]["demand"] == 0


@pytest.mark.parametrize("objective, demand, key", [("compute", ("--inference-tokens", "2T"), "total_flops"),
                                                    ("cost", ("--requests", "1e10"), "total_cost")])
def test_cli_scenario_marks_the_quality_of_model(run_cli, tmp_path, objective, demand, key):
    """--quality-of: the user's model is on the plotted curve's data with solve's figures for it."""
    import json

    args = ("--objective", objective, "--quality-of", "Llama-2-7B", *demand)
    code, out, err = run_cli("plot", "scenario", *args, "-o", tmp_path / "r.png", "--json")
    assert code == 0, err
    data = json.loads(out)["data"]
    solved = json.loads(run_cli("solve", *args, "--json")[1])
    assert data["reference"]["name"] == "Llama-2-7B"
    assert data["reference"][key] == pytest.approx(solved["reference"][key], rel=1e-12)
    assert data["optimal"][key] == pytest.approx(solved["optimal"][key], rel=1e-9)


@pytest.mark.parametrize("args", [
    ("--law", "muennighoff-2023", "--loss", "2.1131", "--inference-tokens", "3.65e12", "--unique-tokens", "3e11"),
    ("--loss", "2.0256", "--inference-tokens", "3.65e12", "--unique-tokens", "1e12", "--max-epochs", "1",
     "--max-params", "2e10"),
    ("--loss", "2.0256", "--requests", "1e9", "--objective", "cost", "--unique-tokens", "1e12", "--max-epochs", "1"),
])
def test_scenario_with_limits_marks_solve_optimum_on_the_law_curve(run_cli, tmp_path, args):
    """plot scenario with unique data or hard limits: solve's optima, and a curve on L(N, D, U) = loss."""
    import json

    from symscale.laws.values import for_law
    from symscale.solvers.data_limited import law_loss

    code, out, err = run_cli("plot", "scenario", *args, "-o", str(tmp_path / "s.png"), "--json")
    assert code == 0, err
    assert (tmp_path / "s.png").stat().st_size > 0
    data = json.loads(out)["data"]
    code, out, err = run_cli("solve", *args, "--json")
    assert code == 0, err
    solved = json.loads(out)
    total = "total_flops" if "cost" not in args else "total_cost"
    for side in ("optimal", "unlimited"):
        for key, solve_key in (("params", "params"), ("tokens", "tokens"), (total, "total")):
            assert data[side][key] == pytest.approx(solved[side][solve_key], rel=1e-10), (side, key)
    law = for_law("muennighoff-2023" if "muennighoff-2023" in args else "chinchilla")
    unique = float(args[args.index("--unique-tokens") + 1])
    params, tokens = np.array(data["params"]), np.array(data["tokens"])
    assert 100 <= params.size <= 400
    loss = float(args[args.index("--loss") + 1])
    assert np.allclose(law_loss(law.law, law.values, params, tokens, unique), loss, rtol=1e-9, atol=0)
    assert data["limits"]["unique_tokens"] == unique


def test_scenario_limit_errors_are_one_line(run_cli, tmp_path):
    code, _, err = run_cli("plot", "scenario", "--loss", "2.0", "--max-epochs", "2", "-o", str(tmp_path / "s.png"))
    assert code == 2 and err.count("\n") == 1 and "--unique-tokens" in err
    assert not (tmp_path / "s.png").exists()
