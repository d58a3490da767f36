"""`symscale plot`: the paper's Figure 2 and Figure 6 ratio maps, and one scenario's iso-loss cost curve."""

from __future__ import annotations

import click
import numpy as np

from symscale.base.errors import InputError
from symscale.cli.common import coefficient_options, coefficients_from_options, deprecated_alias, emit_json
from symscale.cli.cost_options import (
    cost_options,
    hardware_options,
    objective_option,
    paper_or_given,
    paper_settings_option,
    pop_hardware,
    refuse_cost_options,
)
from symscale.cli.limit_options import limit_options, limits_from_options, uses_limits
from symscale.cli.options import demand_spec_from_options, quality_from_options, quality_options, split_options

OUTPUT = click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg",
                      help="Image to write (PNG or SVG, from the extension).")
LOSSES = [
    click.option("--loss", "loss_grid", default="1.85:2.6:120", show_default=True, metavar="GRID",
                 help="Losses on the vertical axis: start:stop:count or a,b,c (linear; geometric with --log-quality)."),
    click.option("--log-quality", is_flag=True, help="Geometric spacing for a start:stop:count --loss."),
    deprecated_alias("--loss-grid", "--loss GRID", "loss_grid"),
]


def _loss_options(func):
    for option in reversed(LOSSES):
        func = option(func)
    return func


def figure6_settings_from_options(kwargs: dict, demand=None):
    """solve's cost settings (H100s), or the paper's Figure 6 ones with --paper-settings; any hardware, MFU or
    input/output-token option given overrides them (``demand``: the popped demand options, else the split's)."""
    from symscale.scenarios.sweep import cost_settings

    overrides = paper_or_given(kwargs, pop_hardware(kwargs))
    for key in ("input_tokens", "output_tokens"):
        value = kwargs.pop(key, None) if demand is None else getattr(demand, key)
        if value is not None:
            overrides[key] = value
    return cost_settings(**overrides)


MAX_PLOT_CELLS = 1_000_000  # 1000 x 1000: far finer than the figure's pixels


def _grids(loss_text: str, demand_text: str, demand_name: str, objective: str = "compute", log_quality=False):
    """The two axes of a ratio map, refused up front when their product is too large to draw."""
    from symscale.scenarios.sweep import check_sweep_size, parse_grid

    losses, demands = parse_grid(loss_text, log_quality, "--loss"), parse_grid(demand_text, True, demand_name)
    if not np.all(demands > 0):
        raise InputError(f"{demand_name} {demand_text}: the figure draws demand on a log axis; give values > 0")
    for name, text, values in (("--loss", loss_text, losses), (demand_name, demand_text, demands)):
        if values.size < 2:
            raise InputError(f"{name} {text}: a contour figure needs at least 2 values on each axis")
    cells = losses.size * demands.size
    if cells > MAX_PLOT_CELLS:
        raise InputError(f"--loss x {demand_name}: {losses.size} x {demands.size} = {cells:.4g} cells is too "
                         f"many to draw (at most {MAX_PLOT_CELLS:,}); use fewer points")
    check_sweep_size(losses.size, demands.size, columns=30 if objective == "cost" else 17)
    return losses, demands


def _check_output(output: str) -> None:
    """The image path is checked before any work is done."""
    from symscale.report.plots import check_image_path

    check_image_path(output)


JSON = click.option("--json", "as_json", is_flag=True,
                    help="Also print one JSON object with the output path and the plotted data.")


def _done(path, figure: str, data, as_json: bool, coefficients, settings=None) -> None:
    """Report the written file; with --json, print the path, the settings used and the data drawn."""
    if as_json:
        from dataclasses import asdict

        from symscale.cli.cmd_solve import coefficient_block
        from symscale.cli.cmd_sweep import _settings_dict

        used = {"objective": data.objective, "coefficients": coefficient_block(coefficients),
                "settings": None if settings is None else _settings_dict(settings)}
        emit_json({"figure": figure, "output": str(path), **used, "data": asdict(data)})
    else:
        click.echo(f"wrote {path}", err=True)


@click.group()
def plot() -> None:
    """Figures (needs matplotlib: pip install 'symscale[plot]'): fig2, fig6, scenario."""


@plot.command("fig2")
@OUTPUT
@_loss_options
@click.option("--inference-tokens", "demand", default="1e8:1e14:160", show_default=True, metavar="GRID",
              help="Lifetime inference tokens on the horizontal axis (ranges are geometric).")
@coefficient_options
@JSON
def fig2(output: str, loss_grid: str, log_quality: bool, demand: str, as_json: bool, **kwargs) -> None:
    """Figure 2: ratios of total FLOPs, params and tokens (compute-optimal / Chinchilla-style) over loss x demand.

    Example: symscale plot fig2 -o fig2.png
    """
    from symscale.report.plots import figure_ratios, ratio_grid, save

    _check_output(output)
    coefficients = coefficients_from_options(kwargs)
    losses, demands = _grids(loss_grid, demand, "--inference-tokens", log_quality=log_quality)
    grid = ratio_grid(losses, demands, "compute", coefficients)
    _done(save(figure_ratios(grid, coefficients), output), "fig2", grid, as_json, coefficients)


@plot.command("fig6")
@OUTPUT
@_loss_options
@click.option("--requests", "demand", default="1e5:1e11:160", show_default=True, metavar="GRID",
              help="Lifetime inference requests on the horizontal axis (ranges are geometric).")
@hardware_options
@paper_settings_option
@split_options
@coefficient_options
@JSON
def fig6(output: str, loss_grid: str, log_quality: bool, demand: str, as_json: bool, **kwargs) -> None:
    """Figure 6: ratios of total cost, params and tokens (cost-optimal / Chinchilla-style) over loss x requests.

    Hardware defaults are solve's (H100 bf16 training, H100 fp8 inference); --paper-settings selects the
    paper's Figure 6 settings (train A100-80GB bf16 $1.50/h at 50% MFU; inference A100-40GB int8 $1.10/h
    at 50% input / 1% output MFU); any hardware, MFU or tokens-per-request option overrides them.

    Example: symscale plot fig6 --paper-settings -o fig6.svg
    """
    from symscale.report.plots import figure_ratios, ratio_grid, save

    _check_output(output)
    coefficients = coefficients_from_options(kwargs)
    settings = figure6_settings_from_options(kwargs)
    losses, demands = _grids(loss_grid, demand, "--requests", "cost", log_quality)
    grid = ratio_grid(losses, demands, "cost", coefficients, settings)
    _done(save(figure_ratios(grid, coefficients, settings), output), "fig6", grid, as_json, coefficients, settings)


@plot.command("scenario")
@OUTPUT
@quality_options
@objective_option("compute: lifetime FLOPs (demand in tokens); cost: lifetime dollars (demand in requests), priced "
                  "with solve's hardware or --paper-settings, and the hardware, price, MFU and input/output-token "
                  "options (which need it).")
@cost_options
@coefficient_options
@limit_options
@JSON
def scenario(output: str, objective: str, as_json: bool, **kwargs) -> None:
    """Lifetime FLOPs or cost against model size along one scenario's iso-loss curve, both optima marked.

    Demand takes every form `solve` takes and is 0 unless given (then both optima coincide). With
    --unique-tokens (a law in U such as muennighoff-2023), --max-epochs or --max-params the curve is the
    law's at that unique data, the models the limits exclude are greyed, and the optimum within the
    limits is marked beside the one without them (the numbers `solve` gives with the same options).

    Examples: symscale plot scenario --chinchilla-params 13B --inference-tokens 2T -o scenario.png;
    symscale plot scenario --objective cost --chinchilla-params 30B --requests 1.5e9 -o cost.png
    """
    from symscale.report.plots import figure_scenario, save, scenario_curve

    _check_output(output)
    limits = limits_from_options(kwargs, objective)
    coefficients = coefficients_from_options(kwargs)
    loss, extra = quality_from_options(kwargs, coefficients)
    for warning in getattr(extra, "warnings", None) or []:
        click.echo(f"Warning: {warning}", err=True)
    demand = demand_spec_from_options(kwargs)
    if objective == "cost":
        requests = demand.cost_demand()[0]
        settings = figure6_settings_from_options(kwargs, demand)
        amount = requests
    else:
        refuse_cost_options(kwargs, demand)
        settings, amount = None, demand.lifetime_tokens()
    if uses_limits(coefficients, limits):
        from symscale.report.plots import limited_scenario_curve

        curve = limited_scenario_curve(loss, amount, objective, coefficients, settings, limits)
    else:
        curve = scenario_curve(loss, amount, objective, coefficients, settings)
    if hasattr(extra, "params") and hasattr(extra, "name"):  # --quality-of: the user's own model, marked too
        from dataclasses import replace

        curve = replace(curve, reference=_reference_point(extra, amount, settings))
    _done(save(figure_scenario(curve, coefficients, settings), output), "scenario", curve, as_json, coefficients,
          settings)


def _reference_point(model, amount: float, settings) -> dict:
    """The --quality-of model's lifetime total at the scenario's demand (FLOPs, or dollars with ``settings``)."""
    from symscale.solvers.solve import Allocation, ComputeModel

    point = {"name": model.name, "params": float(model.params), "tokens": float(model.tokens)}
    if settings is None:
        return {**point, "total_flops": float(ComputeModel(model.params, model.tokens, amount).total_flops)}
    from dataclasses import replace

    from symscale.solvers.costs import model_costs

    costs = model_costs(Allocation(model.params, model.tokens), replace(settings, requests=amount))
    return {**point, "total_cost": float(costs.total_cost)}


COMMANDS = [plot]
