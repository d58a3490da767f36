"""`symscale solve`: the lifetime-optimal model beside the Chinchilla-style model of the same loss."""

from __future__ import annotations

import click

from .common import coefficient_options, coefficients_from_options, emit_json, fmt, pct, render_table
from .options import demand_from_options, demand_options, loss_from_options, quality_options

MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
ROW_LABELS = {
    "params": "Model size (params)", "tokens": "Training data (tokens)", "tokens_per_param": "Tokens per parameter",
    "train_flops": "Training FLOPs", "inference_flops": "Inference FLOPs", "total_flops": "Total FLOPs",
}


def compute_report(loss: float, demand: float, coefficients, method: str = "reduced") -> dict:
    """The JSON report of `solve` for the compute objective (also used by other commands)."""
    from ..solve import solve_compute_optimal

    sol = solve_compute_optimal(loss, demand, coefficients, method=method)
    report = {
        "objective": "compute",
        "loss": loss,
        "coefficients": {**coefficients.as_dict(), "name": coefficients.name},
        "inference_tokens": demand,
        "baseline": {key: float(value) for key, value in sol.baseline.as_dict().items()},
        "optimal": {key: float(value) for key, value in sol.optimal.as_dict().items()},
        "ratio": {key: float(value) for key, value in sol.ratio.items()},
    }
    if coefficients.samples is not None:
        report["uncertainty"] = bootstrap_intervals(loss, demand, coefficients)
    return report


def bootstrap_intervals(loss: float, demand: float, coefficients) -> dict:
    """Solve every bootstrap replicate of the coefficients and report 95 % percentile intervals."""
    import numpy as np

    from ..solve import solve_compute_optimal

    sol = solve_compute_optimal(loss, demand, coefficients, samples=True)
    quantities = {"params": sol.optimal.params, "tokens": sol.optimal.tokens,
                  "total_flops_saving": 1 - sol.ratio["total_flops"]}
    return {
        "n_samples": int(sol.optimal.params.size),
        "ci95": {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in quantities.items()},
        "median": {key: float(np.median(v)) for key, v in quantities.items()},
    }


def render_compute(report: dict) -> str:
    """Plain-text rendering of a compute report."""
    c = report["coefficients"]
    lines = [
        f"Target loss {report['loss']:.6g}; lifetime inference demand {fmt(report['inference_tokens'])} tokens",
        f"Coefficients: {c['name']} (alpha = {c['alpha']:g}, beta = {c['beta']:g}, A = {c['A']:g}, "
        f"B = {c['B']:g}, E = {c['E']:g})",
        "",
    ]
    rows = [(ROW_LABELS[key], fmt(report["baseline"][key]), fmt(report["optimal"][key])) for key in MODEL_KEYS]
    lines.append(render_table(rows, ("", "Chinchilla-style", "Compute-optimal")))
    ratio = report["ratio"]
    lines += [
        "",
        f"The compute-optimal model has {pct(ratio['params'])} of the parameters, is trained on "
        f"{pct(ratio['tokens'])} of the tokens",
        f"and costs {pct(ratio['total_flops'])} of the lifetime FLOPs of the equal-quality Chinchilla-style model "
        f"(saving {fmt(report['baseline']['total_flops'] - report['optimal']['total_flops'])} FLOPs).",
    ]
    if "uncertainty" in report:
        u = report["uncertainty"]
        ci = u["ci95"]
        lines += [
            "",
            f"Uncertainty from {u['n_samples']} bootstrap coefficient samples (95 % percentile intervals):",
            f"  params  [{fmt(ci['params'][0])}, {fmt(ci['params'][1])}]",
            f"  tokens  [{fmt(ci['tokens'][0])}, {fmt(ci['tokens'][1])}]",
            f"  total-FLOP saving  [{pct(ci['total_flops_saving'][0])}, {pct(ci['total_flops_saving'][1])}]",
        ]
    return "\n".join(lines)


@click.command()
@quality_options
@demand_options
@coefficient_options
@click.option("--method", type=click.Choice(["reduced", "kkt"]), default="reduced", show_default=True,
              help="reduced: Newton on Eq. 12 in ln D; kkt: Newton on the full 3x3 KKT system (cross-check).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def solve(as_json: bool, method: str, **kwargs) -> None:
    """The lifetime compute-optimal model for a target quality and inference demand.

    Quality is a loss (--loss) or the loss of a Chinchilla-optimal model of a given size, data or
    budget; demand is lifetime inference tokens (default 0). Prints the Chinchilla-style model of
    the same loss beside the optimum, and the ratios.

    Example: symscale solve --loss 1.947 --inference-tokens 2e12
    """
    coefficients = coefficients_from_options(kwargs)
    loss = loss_from_options(kwargs, coefficients)
    demand = demand_from_options(kwargs)
    report = compute_report(loss, demand, coefficients, method)
    if as_json:
        emit_json(report)
    else:
        click.echo(render_compute(report))


COMMANDS = [solve]
