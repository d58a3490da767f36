"""`symscale solve`: the lifetime-optimal model beside the Chinchilla-style model of the same loss."""

from __future__ import annotations

import click

from ..errors import InputError
from ..precision import MAX_DPS, MIN_DPS
from .common import coefficient_options, coefficients_from_options, emit_json, fmt, pct, render_table
from .cost_options import cost_options, cost_settings_from_options, describe_settings, plain_settings, pop_hardware
from .options import demand_spec_from_options, loss_from_options, quality_options

MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
ROW_LABELS = {
    "params": "Model size (params)", "tokens": "Training data (tokens)", "tokens_per_param": "Tokens per parameter",
    "train_flops": "Training FLOPs", "inference_flops": "Inference FLOPs", "total_flops": "Total FLOPs",
    "train_cost": "Training cost ($)", "prefill_cost": "Prefill cost ($)", "decode_cost": "Decode cost ($)",
    "inference_cost": "Inference cost ($)", "total_cost": "Total cost ($)",
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
    from ..solve import solve_compute_optimal

    sol = solve_compute_optimal(loss, demand, coefficients, samples=True)
    return percentile_summary({"params": sol.optimal.params, "tokens": sol.optimal.tokens,
                               "total_flops_saving": 1 - sol.ratio["total_flops"]})


def percentile_summary(quantities: dict) -> dict:
    """Sample count, 95 % percentile intervals and medians of arrays of bootstrap replicates."""
    import numpy as np

    return {
        "n_samples": int(next(iter(quantities.values())).size),
        "ci95": {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in quantities.items()},
        "median": {key: float(np.median(v)) for key, v in quantities.items()},
    }


def cost_report(loss: float, settings, coefficients, method: str = "reduced") -> dict:
    """The JSON report of `solve --objective cost` (also used by sweeps and reproduction tables)."""
    from ..costs import MODEL_KEYS as COST_KEYS
    from ..costs import solve_cost_optimal

    sol = solve_cost_optimal(loss, settings, coefficients, method=method)
    report = {
        "objective": "cost",
        "loss": loss,
        "coefficients": {**coefficients.as_dict(), "name": coefficients.name},
        "inference_tokens": float(settings.inference_tokens),
        "settings": plain_settings(settings),
        "baseline": {key: float(getattr(sol.baseline, key)) for key in COST_KEYS},
        "optimal": {key: float(getattr(sol.optimal, key)) for key in COST_KEYS},
        "ratio": {key: float(value) for key, value in sol.ratio.items()},
    }
    if coefficients.samples is not None:
        sol = solve_cost_optimal(loss, settings, coefficients, samples=True)
        report["uncertainty"] = percentile_summary({"params": sol.optimal.params, "tokens": sol.optimal.tokens,
                                                    "total_cost_saving": 1 - sol.ratio["total_cost"]})
    return report


def render_compute(report: dict) -> str:
    """Plain-text rendering of a compute report."""
    lines = [
        f"Target loss {report['loss']:.6g}; lifetime inference demand {fmt(report['inference_tokens'])} tokens",
        _coefficient_line(report),
        "",
        _comparison_table(report, MODEL_KEYS, "Compute-optimal"),
        "",
        *_ratio_lines(report, "compute", "total_flops", "lifetime FLOPs",
                      f"{fmt(report['baseline']['total_flops'] * (1 - report['ratio']['total_flops']))} FLOPs"),
    ]
    return "\n".join(lines + _uncertainty_lines(report, "total_flops_saving", "total-FLOP saving"))


def render_cost(report: dict) -> str:
    """Plain-text rendering of a cost report."""
    from ..costs import MODEL_KEYS as COST_KEYS

    saving = report["baseline"]["total_cost"] * (1 - report["ratio"]["total_cost"])
    lines = [
        f"Target loss {report['loss']:.6g}",
        *describe_settings(report["settings"]),
        _coefficient_line(report),
        "",
        _comparison_table(report, COST_KEYS, "Cost-optimal"),
        "",
        *_ratio_lines(report, "cost", "total_cost", "lifetime dollars", f"${fmt(saving)}"),
    ]
    return "\n".join(lines + _uncertainty_lines(report, "total_cost_saving", "total-cost saving"))


def _coefficient_line(report: dict) -> str:
    c = report["coefficients"]
    return (f"Coefficients: {c['name']} (alpha = {c['alpha']:g}, beta = {c['beta']:g}, A = {c['A']:g}, "
            f"B = {c['B']:g}, E = {c['E']:g})")


def _comparison_table(report: dict, keys: tuple, label: str) -> str:
    def cell(key: str, value: float) -> str:
        return f"{value:.1f}" if key == "tokens_per_param" else fmt(value)

    rows = [(ROW_LABELS[key], cell(key, report["baseline"][key]), cell(key, report["optimal"][key])) for key in keys]
    return render_table(rows, ("", "Chinchilla-style", label))


def _ratio_lines(report: dict, objective: str, total_key: str, what: str, saving: str) -> list[str]:
    ratio = report["ratio"]
    return [
        f"The {objective}-optimal model has {pct(ratio['params'])} of the parameters, is trained on "
        f"{pct(ratio['tokens'])} of the tokens",
        f"and costs {pct(ratio[total_key])} of the {what} of the equal-quality Chinchilla-style model "
        f"(saving {saving}).",
    ]


def _uncertainty_lines(report: dict, saving_key: str, saving_label: str) -> list[str]:
    if "uncertainty" not in report:
        return []
    u = report["uncertainty"]
    ci = u["ci95"]
    return [
        "",
        f"Uncertainty from {u['n_samples']} bootstrap coefficient samples (95 % percentile intervals):",
        f"  params  [{fmt(ci['params'][0])}, {fmt(ci['params'][1])}]",
        f"  tokens  [{fmt(ci['tokens'][0])}, {fmt(ci['tokens'][1])}]",
        f"  {saving_label}  [{pct(ci[saving_key][0])}, {pct(ci[saving_key][1])}]",
    ]


@click.command()
@quality_options
@click.option("--objective", type=click.Choice(["compute", "cost"]), default="compute", show_default=True,
              help="compute: fewest lifetime FLOPs (paper Eq. 3); cost: fewest lifetime dollars (Eq. 6), "
              "from hardware, utilisation and requests x input/output tokens.")
@cost_options
@coefficient_options
@click.option("--method", type=click.Choice(["reduced", "kkt"]), default="reduced", show_default=True,
              help="reduced: Newton on Eq. 12 in ln D; kkt: Newton on the full 3x3 KKT system (cross-check).")
@click.option("--verify", is_flag=True,
              help="Re-solve Eq. 12 with mpmath at --dps digits and check digits, KKT residuals and the "
              "second-order condition (exit status 1 if a check fails).")
@click.option("--dps", type=click.IntRange(MIN_DPS, MAX_DPS), default=50, show_default=True,
              help=f"Decimal digits for --verify ({MIN_DPS} to {MAX_DPS}, as `verify --dps`).")
@click.option("--sensitivity", is_flag=True,
              help="Also report d ln N*/d theta and d ln D*/d theta for each coefficient and ln demand "
              "(implicit differentiation of the KKT system, derived in sympy).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def solve(as_json: bool, method: str, objective: str, verify: bool, dps: int, sensitivity: bool, **kwargs) -> None:
    """The lifetime compute- or cost-optimal model for a target quality and inference demand.

    Quality is a loss (--loss) or the loss of a Chinchilla-optimal model of a given size, data or
    budget. Compute objective: demand is lifetime inference tokens (default 0). Cost objective:
    demand is requests x (input + output tokens), priced on the training and inference hardware
    (defaults: H100 bf16 training, H100 fp8 inference, MFU 0.5 / 0.5 / 0.01, 1e10 requests of
    70 input + 215 output tokens). Prints the Chinchilla-style model of the same loss beside the
    optimum, and the ratios.

    Examples: symscale solve --loss 1.947 --inference-tokens 2e12;
    symscale solve --objective cost --loss 1.947 --requests 1e10 --input-tokens 1000 --output-tokens 250
    """
    report = build_report(objective, method, kwargs, verify_dps=dps if verify else None, sensitivity=sensitivity)
    if as_json:
        emit_json(report)
    else:
        click.echo(render_cost(report) if objective == "cost" else render_compute(report))
        if sensitivity:
            from ..planning import render_sensitivity

            click.echo("\n" + render_sensitivity(report["sensitivity"]))
        if verify:
            from ..verify import render_verification

            click.echo("\n" + render_verification(report["verification"]))
    if verify and not report["verification"]["ok"]:
        raise SystemExit(1)


def build_report(objective: str, method: str, kwargs: dict, verify_dps: int | None = None,
                 sensitivity: bool = False) -> dict:
    """Parse the options left in ``kwargs``, solve for the chosen objective, optionally verify."""
    coefficients = coefficients_from_options(kwargs)
    loss = loss_from_options(kwargs, coefficients)
    demand = demand_spec_from_options(kwargs)
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, demand, force=True)
        report = cost_report(loss, settings, coefficients, method)
        weights = tuple(float(w) for w in settings.weights())
    else:
        hardware = pop_hardware(kwargs)
        if hardware:
            names = ", ".join("--" + key.replace("_", "-") for key in hardware)
            raise InputError(f"{names}: hardware options are for the cost objective; add --objective cost")
        report = compute_report(loss, demand.lifetime_tokens(), coefficients, method)
        weights = compute_weights(report["inference_tokens"])
    if verify_dps is not None:
        from ..verify import verify_optimum

        optimal = report["optimal"]
        report["verification"] = verify_optimum(loss, *weights, optimal["params"], optimal["tokens"],
                                                coefficients, verify_dps)
    if sensitivity:
        from ..planning import sensitivities

        values = sensitivities(loss, *weights, coefficients)
        report["sensitivity"] = {row: {key: float(v) for key, v in cols.items()} for row, cols in values.items()}
    return report


def compute_weights(inference_tokens: float) -> tuple[float, float]:
    """(k_train, k_inf) of the compute objective: FLOPs per parameter-token and per parameter."""
    from ..flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

    return float(TRAIN_FLOPS_PER_PARAM_TOKEN), float(INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens)


COMMANDS = [solve]
