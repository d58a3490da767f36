"""Figures: the paper's Figure 2 (compute) and Figure 6 (cost) ratio maps, and one scenario's iso-loss cost curve.

The data of every figure is computed by a plain function (``ratio_grid``, ``scenario_curve``) from the
sweep and solver APIs, so tests can check the numbers; the ``figure_*`` functions only draw them.
matplotlib is an optional extra (``pip install 'symscale[plot]'``) and is imported on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symscale.base.errors import InputError
from symscale.kernels import planning as PK
from symscale.laws.coefficients import Coefficients, resolve
from symscale.scenarios.sweep import PAPER_COST_SETTINGS, cost_settings, sweep_table

# Default axes of the ratio maps: losses of Chinchilla models from ~1B to ~100B+, and wide demand.
DEFAULT_LOSSES = (1.85, 2.6)
DEFAULT_TOKENS = (1e8, 1e14)
DEFAULT_REQUESTS = (1e5, 1e11)
REFERENCE_SIZES = (1e9, 7e9, 13e9, 30e9, 70e9)
FORMATS = (".png", ".svg")


def require_matplotlib():
    """pyplot with a file-only backend, or a clear error naming the optional extra."""
    try:
        import matplotlib
    except ImportError:
        raise InputError("plotting needs matplotlib: pip install 'symscale[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def paper_figure6_settings(**overrides):
    """CostSettings of the paper's Figure 6 (App. B.2/B.3), with any keyword overridden."""
    return cost_settings(**{**PAPER_COST_SETTINGS, **overrides})


# --- data --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RatioGrid:
    """Optimal-over-Chinchilla ratios on a loss x demand grid (arrays of shape (losses, demands))."""

    objective: str
    loss: np.ndarray
    demand: np.ndarray
    demand_kind: str
    total: np.ndarray
    params: np.ndarray
    tokens: np.ndarray


def ratio_grid(losses, demands, objective: str = "compute", coefficients=None, settings=None) -> RatioGrid:
    """Ratios of total FLOPs (or cost), params and tokens for every (loss, demand) pair, in one solve.

    Demand is lifetime inference tokens for the compute objective and requests for the cost objective
    (with ``settings``; default: the paper's Figure 6 settings).
    """
    losses, demands = np.asarray(losses, float), np.asarray(demands, float)
    kind = "inference_tokens" if objective == "compute" else "requests"
    if objective == "cost" and settings is None:
        settings = paper_figure6_settings()
    table = sweep_table(losses, demands, demand_kind=kind, objective=objective, coefficients=coefficients,
                        settings=settings)
    shape = (losses.size, demands.size)
    total = "ratio_total_flops" if objective == "compute" else "ratio_total_cost"
    return RatioGrid(objective, losses, demands, kind, table[total].reshape(shape),
                     table["ratio_params"].reshape(shape), table["ratio_tokens"].reshape(shape))


def iso_loss_tokens(params, loss: float, coefficients=None) -> np.ndarray:
    """Training tokens that bring a model of ``params`` to ``loss`` (Eq. 1 solved for D); NaN where unreachable."""
    from symscale.solvers.solve import tokens_for_loss

    return tokens_for_loss(params, loss, coefficients)


@dataclass(frozen=True)
class ScenarioCurve:
    """Lifetime cost along the iso-loss curve of one scenario, with the Chinchilla and optimal points."""

    objective: str
    loss: float
    demand: float
    params: np.ndarray
    tokens: np.ndarray
    train: np.ndarray
    inference: np.ndarray
    total: np.ndarray
    baseline: dict
    optimal: dict
    reference: dict | None = None  # the model of --quality-of (name, params, tokens, total), on the same curve
    unlimited: dict | None = None  # with limits or unique data: the optimum without them (solve's `unlimited`)
    limits: dict | None = None     # unique_tokens, max_epochs, max_params, and max_tokens = max_epochs * U


def scenario_curve(loss: float, demand: float, objective: str = "compute", coefficients=None, settings=None,
                   points: int = 400) -> ScenarioCurve:
    """Train, inference and total lifetime FLOPs (or dollars) of every model on the iso-loss curve.

    ``demand`` is inference tokens (compute) or requests (cost; ``settings`` default: Figure 6).
    """

    coefficients = resolve(coefficients)
    table = sweep_table([loss], [demand], demand_kind="inference_tokens" if objective == "compute" else "requests",
                        objective=objective, coefficients=coefficients,
                        settings=settings if settings is not None or objective == "compute"
                        else paper_figure6_settings())
    base_n, opt_n = float(table["baseline_params"][0]), float(table["optimal_params"][0])
    smallest = _critical_params(loss, coefficients)  # smaller: loss out of reach
    params = np.geomspace(smallest * 1.001, max(opt_n, base_n) * 20, 4 * points)
    params, tokens, train, inference = _lifetime(params, loss, demand, objective, coefficients, settings)
    keep = train + inference <= WINDOW * np.nanmin(train + inference)  # the basin, not the blow-up near the edge
    params = np.geomspace(params[keep].min(), params[keep].max(), points)
    params, tokens, train, inference = _lifetime(params, loss, demand, objective, coefficients, settings)
    unit = "flops" if objective == "compute" else "cost"
    point = {side: {key: float(table[f"{side}_{key}"][0]) for key in ("params", "tokens", f"total_{unit}")}
             for side in ("baseline", "optimal")}
    return ScenarioCurve(objective, float(loss), float(demand), params, tokens, train, inference, train + inference,
                         point["baseline"], point["optimal"])


WINDOW = 6.0  # the scenario plot shows models whose lifetime cost is within this factor of the optimum


def limited_scenario_curve(loss: float, demand: float, objective: str, coefficients, settings, limits,
                           points: int = 400) -> ScenarioCurve:
    """The scenario curve of a law in U or with hard limits: the iso-loss curve at the unique data given,
    the optimum within the limits and the one without them (the data-limited solver, as `solve` and `sweep`)."""
    from symscale.scenarios.sweep import grid_rows, sweep_grid
    from symscale.solvers.data_limited import iso_loss_curve

    coefficients = resolve(coefficients)
    if objective == "cost" and settings is None:
        settings = paper_figure6_settings()
    grid = sweep_grid([loss], [demand], demand_kind="inference_tokens" if objective == "compute" else "requests",
                      objective=objective, coefficients=coefficients, settings=settings, limits=limits)
    row = {key: float(np.asarray(value)[0]) for key, value in grid_rows(grid, 0, 1).items()}
    unit = "flops" if objective == "compute" else "cost"
    point = {side: {key: row[f"{side}_{key}"] for key in ("params", "tokens", f"total_{unit}")}
             for side in ("baseline", "optimal")}
    unlimited = {key: row[f"unlimited_{key}"] for key in ("params", "tokens", f"total_{unit}")}
    law, values, unique = coefficients.law, coefficients.values, limits.unique_tokens
    params, tokens = iso_loss_curve(law, values, loss, unique, 4 * points)  # coarse: where is the basin?
    train, inference = _lifetime_at(params, tokens, demand, objective, settings)[2:]
    keep = train + inference <= WINDOW * min(np.nanmin(train + inference), point["optimal"][f"total_{unit}"])
    marked = [point["optimal"]["tokens"], unlimited["tokens"]]
    span = (min(tokens[keep].min(), *marked) / 1.5, max(tokens[keep].max(), *marked) * 1.5)
    params, tokens = iso_loss_curve(law, values, loss, unique, points, tokens=span)
    params, tokens, train, inference = _lifetime_at(params, tokens, demand, objective, settings)
    bounds = {"unique_tokens": limits.unique_tokens, "max_epochs": limits.max_epochs,
              "max_params": limits.max_params, "max_tokens": limits.max_tokens}
    return ScenarioCurve(objective, float(loss), float(demand), params, tokens, train, inference, train + inference,
                         point["baseline"], point["optimal"], unlimited=unlimited, limits=bounds)


def _chinchilla_law(coefficients) -> bool:
    law = getattr(resolve(coefficients), "law", None)
    return law is None or law.is_chinchilla


def _critical_params(loss: float, coefficients) -> float:
    """The smallest model that reaches ``loss`` with unlimited data (closed form for Chinchilla's law)."""
    from symscale.solvers.solve import coefficient_values

    if _chinchilla_law(coefficients):
        return float(np.exp(PK.log_min_params(loss, *coefficient_values(coefficients))))
    from symscale.solvers.generic import critical_params

    c = resolve(coefficients)
    return float(critical_params(c.law, [np.asarray(c.values[n], float) for n in c.law.names], loss))


def _baseline_name(coefficients) -> str:
    return "Chinchilla-style" if _chinchilla_law(coefficients) else "training-optimal"


def _lifetime(params, loss, demand, objective, coefficients, settings) -> tuple[np.ndarray, ...]:
    """(params, tokens, training part, inference part) of lifetime FLOPs or dollars along the iso-loss curve."""
    return _lifetime_at(params, iso_loss_tokens(params, loss, coefficients), demand, objective, settings)


def _lifetime_at(params, tokens, demand, objective, settings) -> tuple[np.ndarray, ...]:
    """(params, tokens, training part, inference part) of lifetime FLOPs or dollars of the models (params, tokens)."""
    from symscale.solvers.solve import Allocation, ComputeModel

    if objective == "compute":
        model = ComputeModel(params, tokens, demand)
        return params, tokens, model.train_flops, model.inference_flops
    else:
        from symscale.solvers.costs import model_costs

        chosen = settings if settings is not None else paper_figure6_settings()
        model = model_costs(Allocation(params, tokens), _with_requests(chosen, demand))
        return params, tokens, model.train_cost, model.inference_cost


def _with_requests(settings, requests: float):
    from dataclasses import replace

    return replace(settings, requests=requests)


# --- drawing -----------------------------------------------------------------------------------
def coefficient_text(coefficients: Coefficients) -> str:
    """'chinchilla: alpha=0.336, beta=0.283, A=406.4, B=410.7, E=1.69' for titles (another law: its name and values)."""
    c = resolve(coefficients)
    if not _chinchilla_law(c):
        return f"law {c.law.name}, coefficients {c.name}: " + ", ".join(f"{k}={v:g}" for k, v in c.values.items())
    return (f"coefficients {c.name}: α={c.alpha:g}, β={c.beta:g}, A={c.A:g}, B={c.B:g}, E={c.E:g}")


def settings_text(settings) -> str:
    """The cost settings in one line for titles."""
    train, inf = settings.train, settings.inference
    return (f"train {train.gpu or 'custom'} {train.dtype or ''} \\${float(train.price):.2f}/h at "
            f"{float(settings.train_mfu):.0%} MFU;\ninference {inf.gpu or 'custom'} {inf.dtype or ''} "
            f"\\${float(inf.price):.2f}/h at {float(settings.prefill_mfu):.0%} (input) / "
            f"{float(settings.decode_mfu):.0%} (output) MFU; {float(settings.input_tokens):g} input + "
            f"{float(settings.output_tokens):g} output tokens per request")


ROUND_TICKS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)
PANELS = {
    "compute": (("total", "(a) total FLOPs ratio", "linear"), ("params", "(b) parameters ratio", "log"),
                ("tokens", "(c) pre-training tokens ratio", "log")),
    "cost": (("total", "(a) total cost ratio", "linear"), ("params", "(b) parameters ratio", "log"),
             ("tokens", "(c) pre-training tokens ratio", "log")),
}


def figure_ratios(grid: RatioGrid, coefficients=None, settings=None, title: str | None = None):
    """Three ratio maps (total, params, tokens) over loss x demand, with labelled contours and colour bars."""
    plt = require_matplotlib()
    from matplotlib.colors import LogNorm, Normalize

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.6), constrained_layout=True)
    x_label = ("Lifetime inference demand (tokens)" if grid.demand_kind == "inference_tokens"
               else "Lifetime inference demand (requests)")
    for ax, (key, label, scale) in zip(axes, PANELS[grid.objective]):
        values = getattr(grid, key)
        norm = (LogNorm(vmin=values.min(), vmax=values.max()) if scale == "log" and values.max() > values.min() * 1.01
                else Normalize(vmin=min(values.min(), 1.0), vmax=max(values.max(), 1.0)))
        cmap = "viridis" if key != "tokens" else "magma"
        mesh = ax.pcolormesh(grid.demand, grid.loss, values, norm=norm, cmap=cmap, shading="auto")
        _contours(ax, grid, values)
        ax.set_xscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel("Pre-training loss (nats/token)")
        base = _baseline_name(coefficients)
        ax.set_title(label + f" (optimal / {base})", fontsize=11)
        bar = fig.colorbar(mesh, ax=ax, label=f"ratio (optimal / {base})")
        if scale == "log":
            bar.set_ticks([t for t in ROUND_TICKS if norm.vmin <= t <= norm.vmax])
        _plain_ticks(bar.ax.yaxis)
        if _chinchilla_law(coefficients):
            _reference_sizes(ax, grid.loss, coefficients)
    objective = "lifetime compute (FLOPs)" if grid.objective == "compute" else "lifetime cost (US dollars)"
    lines = [title or f"Optimal models for {objective} vs {_baseline_name(coefficients)} models of equal loss",
             coefficient_text(coefficients)]
    if settings is not None:
        lines.append(settings_text(settings))
    fig.suptitle("\n".join(lines), fontsize=11)
    return fig


def _plain_ticks(axis, scale: float = 1.0, suffix: str = "") -> None:
    """Tick labels as plain numbers ('0.3', '20', '7B') instead of powers of ten; minor labels off."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / scale:g}{suffix}"))
    axis.set_minor_formatter(NullFormatter())


def _contours(ax, grid: RatioGrid, values: np.ndarray) -> None:
    """Labelled contour lines at round ratios inside the data range."""
    levels = [v for v in (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01, 1.1, 1.5, 2, 3, 5, 10, 20, 50, 100)
              if values.min() < v < values.max()]
    if levels:
        lines = ax.contour(grid.demand, grid.loss, values, levels=levels, colors="white", linewidths=0.7)
        ax.clabel(lines, fmt=lambda v: f"{v:g}", fontsize=8)


def _reference_sizes(ax, losses: np.ndarray, coefficients) -> None:
    """A right-hand axis marking the losses of Chinchilla-optimal 1B, 7B, 13B, 30B and 70B models."""
    from symscale.scenarios.sweep import losses_for

    levels = losses_for(np.array(REFERENCE_SIZES), "chinchilla_params", resolve(coefficients))
    inside = (levels >= losses.min()) & (levels <= losses.max())
    twin = ax.twinx()
    twin.set_ylim(ax.get_ylim())
    twin.set_yticks(levels[inside])
    twin.set_yticklabels([f"{n / 1e9:g}B" for n in np.array(REFERENCE_SIZES)[inside]], fontsize=8)
    twin.set_ylabel("Chinchilla model of that loss (params)", fontsize=8)


def _draw_limits(ax, curve: ScenarioCurve) -> None:
    """Hard limits on the scenario figure: the part of the curve they exclude, greyed, and N_max as a line."""
    if curve.limits is None:
        return
    out = np.zeros(curve.params.shape, bool)
    if curve.limits.get("max_params") is not None:
        out |= curve.params > curve.limits["max_params"]
        ax.axvline(curve.limits["max_params"], color="tab:gray", ls=":", label="N <= N_max")
    if curve.limits.get("max_tokens") is not None:
        out |= curve.tokens > curve.limits["max_tokens"]
    if out.any():
        ax.plot(np.where(out, curve.params, np.nan), np.where(out, curve.total, np.nan), color="lightgray", lw=5,
                zorder=1, label="excluded by the limits")


def figure_scenario(curve: ScenarioCurve, coefficients=None, settings=None):
    """Lifetime cost against model size along the iso-loss curve, Chinchilla and optimal points marked."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    unit = "FLOPs" if curve.objective == "compute" else "US dollars"
    key = "total_flops" if curve.objective == "compute" else "total_cost"
    ax.plot(curve.params, curve.total, color="black", lw=2, label=f"lifetime total ({unit})")
    ax.plot(curve.params, curve.train, color="tab:blue", lw=1.2, ls="--", label="training")
    ax.plot(curve.params, curve.inference, color="tab:orange", lw=1.2, ls="--", label="inference")
    _draw_limits(ax, curve)
    sides = (("baseline", "tab:red", "s"), ("optimal", "tab:green", "o"), ("reference", "tab:purple", "D"),
             ("unlimited", "tab:gray", "v"))
    for side, colour, marker in sides:
        point = getattr(curve, side)
        if point is None:
            continue
        names = {"baseline": _baseline_name(coefficients), "optimal": "optimal" if curve.limits is None
                 else "optimal within the limits", "unlimited": "optimal without the limits"}
        name = names.get(side) or point.get("name", "reference")
        ax.plot(point["params"], point[key], marker, color=colour, ms=9, zorder=5,
                label=f"{name}: {point['params'] / 1e9:.3g}B params on {point['tokens'] / 1e12:.3g}T tokens, "
                f"{point[key]:.3g} {unit}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([t for t in (m * 10.0**k for k in range(6, 15) for m in (1, 2, 5))
                   if curve.params.min() <= t <= curve.params.max()])
    _plain_ticks(ax.xaxis, 1e9, "B")
    ax.set_xlabel("Model size (parameters); training tokens follow from the loss")
    ax.set_ylabel(f"Lifetime {'compute' if curve.objective == 'compute' else 'cost'} ({unit})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9, loc="best")
    demand = (f"{curve.demand:.3g} inference tokens" if curve.objective == "compute"
              else f"{curve.demand:.3g} requests")
    lines = [f"Iso-loss curve at loss {curve.loss:.4g} with {demand}", coefficient_text(coefficients)]
    if curve.limits is not None:
        given = {"unique_tokens": "U = {:.3g}", "max_epochs": "at most {:g} epochs", "max_params": "N <= {:.3g}"}
        shown = [text.format(curve.limits[key]) for key, text in given.items() if curve.limits.get(key) is not None]
        lines.append("Limits: " + (", ".join(shown) or "none (unlimited unique data)"))
    if settings is not None:
        lines.append(settings_text(settings))
    ax.set_title("\n".join(lines), fontsize=10)
    return fig


def save(fig, path: str | Path) -> Path:
    """Write a figure as PNG or SVG (from the extension) and close it."""
    from symscale.base.files import atomic_write

    path = Path(path)
    check_image_path(path)
    plt = require_matplotlib()
    try:
        with atomic_write(path, "wb") as handle:
            fig.savefig(handle, dpi=130, format=path.suffix.lower().lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def check_image_path(path: str | Path) -> None:
    """Refuse (InputError) an image path without a .png/.svg extension or where no file can be written."""
    from symscale.base.files import check_output_path, is_special, shown

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS and not (is_special(path) and not suffix):  # /dev/full, a FIFO: PNG
        raise InputError(f"cannot tell the image format of {shown(path)}: name it *.png or *.svg")
    check_output_path(path, "--output")
