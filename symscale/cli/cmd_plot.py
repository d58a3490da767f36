"""`symscale plot`: the paper's Figure 2 and Figure 6 ratio maps, and one scenario's iso-loss cost curve."""

from __future__ import annotations

import click
import numpy as np

from ..errors import InputError
from .common import POSITIVE, coefficient_options, coefficients_from_options, emit_json
from .cost_options import hardware_options, paper_or_given, paper_settings_option, pop_hardware
from .options import loss_from_options, quality_options

OUTPUT = click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg",
                      help="Image to write (PNG or SVG, from the extension).")
LOSSES = click.option("--loss-grid", default="1.85:2.6:120", show_default=True, metavar="GRID",
                      help="Losses on the vertical axis: start:stop:count (linear) or a,b,c.")
SPLIT = [
    click.option("--input-tokens", type=POSITIVE, default=None, help="Mean input tokens per request [default: 70]."),
    click.option("--output-tokens", type=POSITIVE, default=None, help="Mean output tokens per request [default: 215]."),
]


def _split_options(func):
    for option in reversed(SPLIT):
        func = option(func)
    return func


def figure6_settings_from_options(kwargs: dict):
    """solve's cost settings (H100s), or the paper's Figure 6 ones with --paper-settings; any hardware, MFU or
    tokens-per-request option given overrides them."""
    from ..sweep import cost_settings

    overrides = paper_or_given(kwargs, pop_hardware(kwargs))
    for key in ("input_tokens", "output_tokens"):
        value = kwargs.pop(key)
        if value is not None:
            overrides[key] = value
    return cost_settings(**overrides)


MAX_PLOT_CELLS = 1_000_000  # 1000 x 1000: far finer than the figure's pixels


def _grids(loss_text: str, demand_text: str, demand_name: str, objective: str = "compute"):
    """The two axes of a ratio map, refused up front when their product is too large to draw."""
    from ..sweep import check_sweep_size, parse_grid

    losses, demands = parse_grid(loss_text, False, "--loss-grid"), parse_grid(demand_text, True, demand_name)
    if not np.all(demands > 0):
        raise InputError(f"{demand_name} {demand_text}: the figure draws demand on a log axis; give values > 0")
    cells = losses.size * demands.size
    if cells > MAX_PLOT_CELLS:
        raise InputError(f"--loss-grid x {demand_name}: {losses.size} x {demands.size} = {cells:.4g} cells is too "
                         f"many to draw (at most {MAX_PLOT_CELLS:,}); use fewer points")
    check_sweep_size(losses.size, demands.size, columns=30 if objective == "cost" else 17)
    return losses, demands


def _check_output(output: str) -> None:
    """The image path is checked before any work is done."""
    from ..plots import check_image_path

    check_image_path(output)


JSON = click.option("--json", "as_json", is_flag=True,
                    help="Also print one JSON object with the output path and the plotted data.")


def _done(path, figure: str, data, as_json: bool) -> None:
    """Report the written file; with --json, print the path and the data drawn (a RatioGrid or ScenarioCurve)."""
    if as_json:
        from dataclasses import asdict

        emit_json({"figure": figure, "output": str(path), "data": asdict(data)})
    else:
        click.echo(f"wrote {path}", err=True)


@click.group()
def plot() -> None:
    """Figures (needs matplotlib: pip install 'symscale[plot]'): fig2, fig6, scenario."""


@plot.command("fig2")
@OUTPUT
@LOSSES
@click.option("--inference-tokens", "demand", default="1e8:1e14:160", show_default=True, metavar="GRID",
              help="Lifetime inference tokens on the horizontal axis (ranges are geometric).")
@coefficient_options
@JSON
def fig2(output: str, loss_grid: str, demand: str, as_json: bool, **kwargs) -> None:
    """Figure 2: ratios of total FLOPs, params and tokens (compute-optimal / Chinchilla-style) over loss x demand.

    Example: symscale plot fig2 -o fig2.png
    """
    from ..plots import figure_ratios, ratio_grid, save

    _check_output(output)
    coefficients = coefficients_from_options(kwargs)
    losses, demands = _grids(loss_grid, demand, "--inference-tokens")
    grid = ratio_grid(losses, demands, "compute", coefficients)
    _done(save(figure_ratios(grid, coefficients), output), "fig2", grid, as_json)


@plot.command("fig6")
@OUTPUT
@LOSSES
@click.option("--requests", "demand", default="1e5:1e11:160", show_default=True, metavar="GRID",
              help="Lifetime inference requests on the horizontal axis (ranges are geometric).")
@hardware_options
@paper_settings_option
@_split_options
@coefficient_options
@JSON
def fig6(output: str, loss_grid: str, demand: str, as_json: bool, **kwargs) -> None:
    """Figure 6: ratios of total cost, params and tokens (cost-optimal / Chinchilla-style) over loss x requests.

    Hardware defaults are solve's (H100 bf16 training, H100 fp8 inference); --paper-settings selects the
    paper's Figure 6 settings (train A100-80GB bf16 $1.50/h at 50% MFU; inference A100-40GB int8 $1.10/h
    at 50% input / 1% output MFU); any hardware, MFU or tokens-per-request option overrides them.

    Example: symscale plot fig6 --paper-settings -o fig6.svg
    """
    from ..plots import figure_ratios, ratio_grid, save

    _check_output(output)
    coefficients = coefficients_from_options(kwargs)
    settings = figure6_settings_from_options(kwargs)
    losses, demands = _grids(loss_grid, demand, "--requests", "cost")
    grid = ratio_grid(losses, demands, "cost", coefficients, settings)
    _done(save(figure_ratios(grid, coefficients, settings), output), "fig6", grid, as_json)


@plot.command("scenario")
@OUTPUT
@quality_options
@click.option("--inference-tokens", type=POSITIVE, default=None, help="Compute objective: lifetime inference tokens.")
@click.option("--requests", type=POSITIVE, default=None, help="Cost objective: lifetime inference requests.")
@click.option("--objective", type=click.Choice(["compute", "cost"]), default=None,
              help="compute (FLOPs) or cost (dollars, solve's hardware; --paper-settings for Figure 6's) "
              "[default: from the demand given].")
@hardware_options
@paper_settings_option
@_split_options
@coefficient_options
@JSON
def scenario(output: str, inference_tokens: float | None, requests: float | None, objective: str | None,
             as_json: bool, **kwargs) -> None:
    """Lifetime FLOPs or cost against model size along one scenario's iso-loss curve, both optima marked.

    Example: symscale plot scenario --chinchilla-params 13B --inference-tokens 2T -o scenario.png
    """
    from ..plots import figure_scenario, save, scenario_curve

    _check_output(output)
    coefficients = coefficients_from_options(kwargs)
    loss = loss_from_options(kwargs, coefficients)
    objective = objective or ("cost" if requests is not None else "compute")
    demand = inference_tokens if objective == "compute" else requests
    if demand is None or (inference_tokens is not None and requests is not None):
        raise InputError("the compute objective needs --inference-tokens; the cost objective needs --requests")
    settings = figure6_settings_from_options(kwargs) if objective == "cost" else None
    if objective == "compute" and (pop_hardware(kwargs) or kwargs.get("input_tokens") or kwargs.get("output_tokens")):
        raise InputError("hardware and tokens-per-request options need --objective cost (with --requests)")
    curve = scenario_curve(loss, demand, objective, coefficients, settings)
    _done(save(figure_scenario(curve, coefficients, settings), output), "scenario", curve, as_json)


COMMANDS = [plot]
