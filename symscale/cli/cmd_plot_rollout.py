"""`symscale plot rollout`: predicted against observed loss of the runs held out by `fit --rollout` or a holdout."""

from __future__ import annotations

import click

from symscale.cli.common import POSITIVE, CliError, emit_json
from symscale.cli.fit_checks import fit_check_options


def rollout_points(data: dict) -> list[dict]:
    """The held-out runs of a rollout or holdout report, each with the size it was predicted as part of."""
    if "rollout" in data:
        return [{**run, "predicted_size": step["params"]} for step in data["rollout"] for run in step["runs"]]
    return [{**run, "predicted_size": run["params"]} for run in data["runs"]]


def rollout_figure(data: dict):
    """Two panels: predicted against observed loss (the diagonal is a perfect prediction), and the relative
    error against model size; 95 % prediction intervals as bars when the report has them."""
    import numpy as np

    from symscale.report.plots import require_matplotlib

    plt = require_matplotlib()
    points = rollout_points(data)
    observed = np.array([p["observed"] for p in points])
    predicted = np.array([p["predicted"] for p in points])
    params = np.array([p["params"] for p in points])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    colour = np.log10(params)
    if all("prediction_ci95" in p for p in points):
        low = predicted - np.array([p["prediction_ci95"][0] for p in points])
        high = np.array([p["prediction_ci95"][1] for p in points]) - predicted
        left.errorbar(observed, predicted, yerr=[low, high], fmt="none", ecolor="grey", alpha=0.5, lw=1)
    shown = left.scatter(observed, predicted, c=colour, cmap="viridis", s=22, zorder=3)
    span = [min(observed.min(), predicted.min()), max(observed.max(), predicted.max())]
    pad = 0.02 * (span[1] - span[0] or 1.0)
    left.plot([span[0] - pad, span[1] + pad], [span[0] - pad, span[1] + pad], color="black", lw=0.8, ls="--",
              label="predicted = observed")
    left.set_xlabel("observed loss")
    left.set_ylabel("predicted loss")
    left.legend(fontsize=8, loc="upper left")
    fig.colorbar(shown, ax=left, label="log10 parameters")
    right.semilogx(params, 100 * (predicted - observed) / observed, "o", ms=4)
    right.axhline(0.0, color="black", lw=0.8)
    right.set_xlabel("parameters of the held-out run")
    right.set_ylabel("relative error (predicted - observed) / observed, %")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    how = "rollout: fit on the sizes below each size" if "rollout" in data else "holdout"
    fig.suptitle(f"Out-of-sample check of the law {data['law']} ({how}); {len(points)} held-out runs", fontsize=11)
    fig.tight_layout()
    return fig


@click.command("rollout")
@click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg", help="Image to write (PNG or SVG).")
@click.option("--runs", "runs_csv", required=True, metavar="FILE|DATASET",
              help="Training runs: a CSV file or a bundled dataset such as sardana-2024.")
@click.option("--params-col", default="Parameters", show_default=True, help="Column with parameter counts N.")
@click.option("--tokens-col", default="Tokens", show_default=True, help="Column with training tokens D.")
@click.option("--loss-col", default="Smoothed Loss", show_default=True, help="Column with final loss L.")
@click.option("--law", "law_spec", default=None, metavar="NAME|FORMULA", help="The law to fit [default: chinchilla].")
@click.option("--delta", type=POSITIVE, default=1e-3, show_default=True, help="Huber threshold delta.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=0, metavar="N",
              help="Refit N resampled replicates for 95 % prediction intervals (drawn as bars).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed (>= 0) for --bootstrap; the same seed gives the same replicates.")
@click.option("--start", "starts", multiple=True, metavar="NAME=VALUE|NAME=LO:HI:COUNT",
              help="Start value or grid of a coefficient (as `fit --start`).")
@click.option("--bound", "bounds", multiple=True, metavar="NAME=LO:HI", help="Fitting range (as `fit --bound`).")
@click.option("--no-lmfit", is_flag=True, help="Skip the lmfit polish (as `fit --no-lmfit`).")
@fit_check_options
@click.option("--json", "as_json", is_flag=True,
              help="Also print one JSON object with the output path and the numbers (as `fit --rollout --json`).")
def plot_rollout(output: str, runs_csv: str, params_col: str, tokens_col: str, loss_col: str, law_spec: str | None,
                 delta: float, n_boot: int, seed: int | None, starts: tuple, bounds: tuple, no_lmfit: bool,
                 as_json: bool, **checks) -> None:
    """Predicted against observed loss of held-out runs: `fit --rollout` (the default) or a holdout.

    Example: symscale plot rollout --runs sardana-2024 -o rollout.png;
    symscale plot rollout --runs sardana-2024 --holdout-above 2e9 --bootstrap 50 --seed 1 -o holdout.png
    """
    from symscale.cli.fit_checks import out_of_sample
    from symscale.laws.registry import resolve_law
    from symscale.report.plots import check_image_path, save
    from symscale.solvers import fit as F

    check_image_path(output)
    F.check_delta(delta)
    law = resolve_law(law_spec)
    runs = F.load_runs(runs_csv, params_col, tokens_col, loss_col)
    if n_boot:
        F.check_bootstrap(n_boot, len(runs), seed)
    split = checks.get("holdout_above") is not None or checks.get("holdout_tpp_above") is not None
    if not split:
        checks["rollout"] = True
    elif checks.get("rollout"):
        raise CliError("give --rollout or --holdout-above/--holdout-tokens-per-param-above, not both")
    options = {"starts": starts, "bounds": bounds, "delta": delta, "n_boot": n_boot, "seed": seed, "out": None,
               "no_lmfit": no_lmfit, "as_json": as_json}
    _, data = out_of_sample(law, runs, options, checks)
    path = save(rollout_figure(data), output)
    if as_json:
        emit_json({"figure": "rollout", "output": str(path), "data": data})
    else:
        click.echo(f"wrote {path}", err=True)


def _attach() -> None:
    """`plot rollout` joins the plot group."""
    from symscale.cli.cmd_plot import plot

    plot.add_command(plot_rollout)


_attach()
COMMANDS: list = []
