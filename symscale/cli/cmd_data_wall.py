"""`symscale unique-tokens`: the least unique training data with which a law in U can reach a loss."""

from __future__ import annotations

import click

from symscale.base import numbers as N
from symscale.cli.common import POSITIVE, coefficient_options, coefficients_from_options, emit_json
from symscale.cli.options import compute_demand_options, demand_from_options


@click.command("unique-tokens")
@click.option("--loss", type=POSITIVE, required=True, help="Target loss.")
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def unique_tokens(loss: float, as_json: bool, **kwargs) -> None:
    """The least unique data U whose loss floor is the target: any model reaching --loss needs more.

    The floor of finite data is the law's limit for large N and D at fixed U (repeated tokens and
    excess parameters saturate). Needs a law in U, e.g. --law muennighoff-2023.

    Example: symscale unique-tokens --law muennighoff-2023 --loss 2.1
    """
    from symscale.base.errors import InputError
    from symscale.solvers.data_limited import data_floor, has_unique_tokens, unique_tokens_for_loss

    coefficients = coefficients_from_options(kwargs)
    law = coefficients.law
    if not has_unique_tokens(law):
        raise InputError(f"--law {law.name} has no unique-token input U; use a law with a repetition term, "
                         "e.g. --law muennighoff-2023")
    values = dict(coefficients.values)
    need = unique_tokens_for_loss(law, values, loss)
    report = {"law": law.name, "loss": loss, "unique_tokens": need, "floor_at": data_floor(law, values, need)}
    if as_json:
        emit_json(report)
        return
    click.echo(f"Least unique data for loss {loss:g} under the law {law.name}: {N.count(need)} tokens "
               f"(its floor is {report['floor_at']:.6g}; a finite model reaching {loss:g} needs more)")


COMMANDS = [unique_tokens]


def _data_wall_series(loss: float, demand: float, coefficients, grid, max_epochs: float | None) -> dict:
    """Optimal params, tokens, epochs and lifetime FLOPs at each unique-token count (NaN where unreachable)."""
    import math

    from symscale.base.errors import InputError
    from symscale.cli.cmd_solve import compute_weights
    from symscale.laws.limits import Limits
    from symscale.solvers.data_limited import solve_limited

    law, values = coefficients.law, dict(coefficients.values)
    k_train, k_inf = compute_weights(demand)
    free = solve_limited(law, values, loss, k_train, k_inf)
    rows = {"unique_tokens": [], "params": [], "tokens": [], "epochs": [], "total_flops": []}
    for u in grid:
        try:
            opt = solve_limited(law, values, loss, k_train, k_inf, Limits(float(u), max_epochs))
            point = (opt.params, opt.tokens, opt.tokens / u, opt.objective)
        except InputError:
            point = (math.nan,) * 4
        for key, value in zip(("unique_tokens", "params", "tokens", "epochs", "total_flops"), (float(u), *point)):
            rows[key].append(value)
    return {"loss": loss, "inference_tokens": demand, "law": law.name, "max_epochs": max_epochs, "series": rows,
            "unlimited": {"params": free.params, "tokens": free.tokens, "total_flops": free.objective}}


def _data_wall_figure(data: dict):
    from symscale.report.plots import require_matplotlib

    plt = require_matplotlib()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    s, free = data["series"], data["unlimited"]
    panels = (("params", "optimal parameters"), ("tokens", "training tokens"), ("epochs", "epochs D/U"),
              ("total_flops", "lifetime FLOPs"))
    for ax, (key, label) in zip(axes.flat, panels):
        ax.loglog(s["unique_tokens"], s[key], marker="o", ms=3, label="with the data limit")
        if key in free:
            ax.axhline(free[key], color="grey", ls="--", label="unlimited unique data")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("unique tokens available U")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"The data wall: law {data['law']}, loss {data['loss']:.6g}, "
                 f"{data['inference_tokens']:.3g} inference tokens", fontsize=11)
    fig.tight_layout()
    return fig


@click.command("data-wall")
@click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg", help="Image to write (PNG or SVG).")
@click.option("--loss", type=POSITIVE, required=True, help="Target loss.")
@compute_demand_options
@click.option("--unique-tokens-grid", default="1e10:1e14:17", show_default=True, metavar="GRID",
              help="Unique tokens on the horizontal axis: start:stop:count (geometric) or a,b,c.")
@click.option("--max-epochs", type=POSITIVE, default=None, metavar="K",
              help="Also impose D <= K*U (needed with a law without U, e.g. chinchilla).")
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Also print one JSON object with the path and the data.")
def data_wall(output: str, loss: float, unique_tokens_grid: str, max_epochs, as_json: bool, **kwargs) -> None:
    """Optimal params, tokens, epochs and lifetime FLOPs against available unique tokens (fixed loss and demand),
    with the unlimited-data optimum as a reference line. Demand takes `solve`'s compute forms and is 0 unless given.

    Example: symscale plot data-wall --law muennighoff-2023 --loss 2.1131 --inference-tokens 3.65e12 -o wall.png
    """
    from symscale.base.errors import InputError
    from symscale.report.plots import save
    from symscale.scenarios.sweep import parse_grid

    coefficients = coefficients_from_options(kwargs)
    inference_tokens = demand_from_options(kwargs)
    if not coefficients.law.uses_unique_tokens and max_epochs is None:
        raise InputError(f"--law {coefficients.law.name} has no unique-token input U: add --max-epochs K")
    grid = parse_grid(unique_tokens_grid, True, "--unique-tokens-grid")
    if grid.size > 200 or not (grid > 0).all():
        raise InputError(f"--unique-tokens-grid {unique_tokens_grid!r}: give 1 to 200 positive values")
    data = _data_wall_series(loss, inference_tokens, coefficients, grid, max_epochs)
    path = save(_data_wall_figure(data), output)
    if as_json:
        emit_json({"figure": "data-wall", "output": str(path), "data": data})
    else:
        click.echo(f"wrote {path}", err=True)


def _attach() -> None:
    """`plot data-wall` lives here, beside the data-wall commands, and joins the plot group."""
    from symscale.cli.cmd_plot import plot

    plot.add_command(data_wall)


_attach()
