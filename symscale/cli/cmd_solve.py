"""`symscale solve`: the lifetime-optimal model beside the Chinchilla-style model of the same loss."""

from __future__ import annotations

import click

from symscale.base import numbers as N
from symscale.base.errors import InputError
from symscale.base.precision import MAX_DPS, MIN_DPS
from symscale.cli.common import coefficient_options, coefficients_from_options, emit_json, render_table
from symscale.cli.cost_options import (
    cost_options,
    cost_settings_from_options,
    describe_settings,
    objective_option,
    plain_settings,
    refuse_cost_options,
    train_gpus_option,
)
from symscale.cli.limit_options import limit_options
from symscale.cli.options import demand_spec_from_options, quality_from_options, quality_options

MODEL_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
ROW_LABELS = N.LABELS


def compute_report(loss: float, demand: float, coefficients, method: str = "reduced") -> dict:
    """The JSON report of `solve` for the compute objective (also used by other commands)."""
    from symscale.solvers.solve import solve_compute_optimal

    sol = solve_compute_optimal(loss, demand, coefficients, method=method)
    report = {
        "objective": "compute",
        "loss": loss,
        "coefficients": coefficient_block(coefficients),
        "inference_tokens": demand,
        "baseline": {key: float(value) for key, value in sol.baseline.as_dict().items()},
        "optimal": {key: float(value) for key, value in sol.optimal.as_dict().items()},
        "ratio": {key: float(value) for key, value in sol.ratio.items()},
    }
    if coefficients.samples is not None:
        report["uncertainty"] = bootstrap_intervals(loss, demand, coefficients)
    return add_warnings(report, coefficients)


def bootstrap_intervals(loss: float, demand: float, coefficients) -> dict:
    """Solve every usable bootstrap replicate of the coefficients and report 95 % percentile intervals."""
    from symscale.solvers.solve import solve_compute_optimal

    sol = solve_compute_optimal(loss, demand, coefficients, samples=True)
    return percentile_summary({"params": sol.optimal.params, "tokens": sol.optimal.tokens,
                               "total_flops_saving": 1 - sol.ratio["total_flops"]}, sol.samples)


def percentile_summary(quantities: dict, use=None) -> dict:
    """Sample counts, 95 % percentile intervals and medians of arrays of (usable) bootstrap replicates."""
    import numpy as np

    summary = {
        "n_samples": int(next(iter(quantities.values())).size),
        "ci95": {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in quantities.items()},
        "median": {key: float(np.median(v)) for key, v in quantities.items()},
    }
    if use is not None:
        summary["samples"] = use.as_dict()
        if use.warning:
            summary["warning"] = use.warning
    return summary


def add_warnings(report: dict, coefficients) -> dict:
    """The report's ``warnings`` list (always present): extrapolation beyond the fitted runs, few usable samples."""
    from symscale.laws.ranges import model_warnings

    warnings = model_warnings(coefficients, {"optimal model": report["optimal"]})
    if report.get("uncertainty", {}).get("warning"):
        warnings.append(report["uncertainty"]["warning"])
    report["warnings"] = warnings
    return report


def warn_sample_use(report: dict) -> None:
    """One 'Warning:' line on stderr for each of the report's warnings (extrapolation, few usable samples),
    after the answer has reached standard output (so a failing stdout is the only line on stderr)."""
    import sys

    if report.get("warnings"):
        sys.stdout.flush()
    for warning in report.get("warnings", []):
        click.echo(f"Warning: {warning}", err=True)


def cost_report(loss: float, settings, coefficients, method: str = "reduced") -> dict:
    """The JSON report of `solve --objective cost` (also used by sweeps and reproduction tables)."""
    from symscale.solvers.costs import MODEL_KEYS as COST_KEYS
    from symscale.solvers.costs import solve_cost_optimal

    sol = solve_cost_optimal(loss, settings, coefficients, method=method)
    report = {
        "objective": "cost",
        "loss": loss,
        "coefficients": coefficient_block(coefficients),
        "inference_tokens": float(settings.inference_tokens),
        "settings": plain_settings(settings),
        "baseline": {key: float(getattr(sol.baseline, key)) for key in COST_KEYS},
        "optimal": {key: float(getattr(sol.optimal, key)) for key in COST_KEYS},
        "ratio": {key: float(value) for key, value in sol.ratio.items()},
    }
    if coefficients.samples is not None:
        sol = solve_cost_optimal(loss, settings, coefficients, samples=True)
        report["uncertainty"] = percentile_summary({"params": sol.optimal.params, "tokens": sol.optimal.tokens,
                                                    "total_cost_saving": 1 - sol.ratio["total_cost"]},
                                                   sol.samples)
    return add_warnings(report, coefficients)


def add_reference(report: dict, reference, settings=None) -> None:
    """The user's own model (--quality-of) beside the optimum: its figures and the optimum's ratios to it."""
    from symscale.solvers.solve import Allocation, ComputeModel

    if settings is None:
        model = ComputeModel(reference.params, reference.tokens, report["inference_tokens"]).as_dict()
        keys = ("params", "tokens", "total_flops")
    else:
        from symscale.solvers.costs import MODEL_KEYS as COST_KEYS
        from symscale.solvers.costs import model_costs

        costs = model_costs(Allocation(reference.params, reference.tokens), settings)
        model = {key: getattr(costs, key) for key in COST_KEYS}
        keys = ("params", "tokens", "total_flops", "total_cost")
    report["reference"] = {"name": reference.name, "source": reference.source,
                           **{key: float(value) for key, value in model.items()}}
    report["ratio_to_reference"] = {key: report["optimal"][key] / report["reference"][key] for key in keys}


def render_compute(report: dict) -> str:
    """Plain-text rendering of a compute report."""
    lines = [
        f"Target loss {report['loss']:.6g}; lifetime inference demand {N.count(report['inference_tokens'])} tokens",
        _coefficient_line(report),
        "",
        _comparison_table(report, MODEL_KEYS, "Compute-optimal"),
        "",
        *_ratio_lines(report, "compute", "total_flops", "lifetime FLOPs",
                      f"{N.flops(report['baseline']['total_flops'] * (1 - report['ratio']['total_flops']))} FLOPs"),
    ]
    return "\n".join(lines + _uncertainty_lines(report, "total_flops_saving", "total-FLOP saving"))


def render_cost(report: dict) -> str:
    """Plain-text rendering of a cost report."""
    from symscale.solvers.costs import MODEL_KEYS as COST_KEYS

    saving = report["baseline"]["total_cost"] * (1 - report["ratio"]["total_cost"])
    lines = [
        f"Target loss {report['loss']:.6g}",
        *describe_settings(report["settings"]),
        _coefficient_line(report),
        "",
        _comparison_table(report, COST_KEYS + (("train_days",) if "train_gpus" in report else ()), "Cost-optimal"),
        "",
        *_ratio_lines(report, "cost", "total_cost", "lifetime dollars", N.dollars(saving)),
    ]
    return "\n".join(lines + _uncertainty_lines(report, "total_cost_saving", "total-cost saving"))


def coefficient_block(coefficients) -> dict:
    """The JSON ``coefficients`` block: the values, the set's name, and the law (name and formula)."""
    law = coefficients.law
    return {**coefficients.as_dict(), "name": coefficients.name,
            "law": {"name": law.name, "expression": law.formula}}


def _coefficient_line(report: dict) -> str:
    c = dict(report["coefficients"])
    name, law = c.pop("name"), c.pop("law", None)
    values = ", ".join(f"{key} = {value:g}" for key, value in c.items())
    where = f"law {law['name']}: {law['expression']}; " if law and law["name"] != "chinchilla" else ""
    return f"Coefficients: {name} ({where}{values})"


def _comparison_table(report: dict, keys: tuple, label: str) -> str:
    columns = [report["baseline"], report["optimal"]] + ([report["reference"]] if "reference" in report else [])
    header = ("", baseline_label(report), label) + ((report["reference"]["name"],) if "reference" in report else ())
    rows = [(ROW_LABELS[key], *(N.readable(key, column[key]) for column in columns)) for key in keys]
    return render_table(rows, header)


def baseline_label(report: dict) -> str:
    """Chinchilla-style for the paper's law; the training-compute-optimal model of the law otherwise."""
    law = report["coefficients"].get("law")
    return "Chinchilla-style" if law is None or law["name"] == "chinchilla" else "Training-optimal"


def _ratio_lines(report: dict, objective: str, total_key: str, what: str, saving: str) -> list[str]:
    ratio = report["ratio"]
    return [
        f"The {objective}-optimal model has {N.share(ratio['params'])} the parameters, is trained on "
        f"{N.share(ratio['tokens'])} the tokens",
        f"and costs {N.share(ratio[total_key])} the {what} of the equal-quality {_baseline_name(report)} "
        f"(saving {saving}).",
    ] + _reference_lines(report, objective, total_key, what)


def _reference_lines(report: dict, objective: str, total_key: str, what: str) -> list[str]:
    if "reference" not in report:
        return []
    ratio, name = report["ratio_to_reference"], report["reference"]["name"]
    return [f"Against {name} (the quality asked for): {N.share(ratio['params'])} the parameters, "
            f"{N.share(ratio['tokens'])} the tokens, {N.share(ratio[total_key])} the {what}."]


def _baseline_name(report: dict) -> str:
    if baseline_label(report) == "Chinchilla-style":
        return "Chinchilla-style model"
    return "training-compute-optimal model (no inference demand) of the same law"


def _uncertainty_lines(report: dict, saving_key: str, saving_label: str) -> list[str]:
    if "uncertainty" not in report:
        return []
    u = report["uncertainty"]
    ci = u["ci95"]
    counts = u.get("samples")
    if counts and counts["excluded"]:
        from symscale.solvers.solve import SampleUse

        used = SampleUse(counts["total"], counts["excluded"]).describe()
        head = f"Uncertainty from bootstrap coefficient samples ({used}), 95 % percentile intervals:"
    else:
        head = f"Uncertainty from {u['n_samples']} bootstrap coefficient samples (95 % percentile intervals):"
    return [
        "",
        head,
        f"  params  [{N.count(ci['params'][0])}, {N.count(ci['params'][1])}]",
        f"  tokens  [{N.count(ci['tokens'][0])}, {N.count(ci['tokens'][1])}]",
        f"  {saving_label}  [{N.ratio(ci[saving_key][0])}, {N.ratio(ci[saving_key][1])}]",
    ]


@click.command()
@quality_options
@train_gpus_option
@objective_option()
@cost_options
@coefficient_options
@limit_options
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
    (defaults: H100 bf16 training, H100 fp8 inference, MFU 0.5 / 0.5 / 0.01, 70 input + 215 output
    tokens per request). Demand is 0 unless given, for both objectives. Prints the Chinchilla-style
    model of the same loss beside the optimum, and the ratios (and --quality-of's model beside them).

    Examples: symscale solve --loss 1.947 --inference-tokens 2e12;
    symscale solve --objective cost --loss 1.947 --requests 1e10 --input-tokens 1000 --output-tokens 250
    """
    report = build_report(objective, method, kwargs, verify_dps=dps if verify else None, sensitivity=sensitivity)
    if as_json:
        emit_json(report)
    elif "limits" in report:
        from symscale.cli.limit_options import render_limited

        click.echo(render_limited(report))
        if sensitivity:
            from symscale.scenarios.planning import render_sensitivity

            click.echo("\n" + render_sensitivity(report["sensitivity"]))
    else:
        click.echo(render_cost(report) if objective == "cost" else render_compute(report))
        if "target_score" in report:
            from symscale.cli.score_target import render_score_target

            click.echo("\n" + render_score_target(report))
        if sensitivity:
            from symscale.scenarios.planning import render_sensitivity

            click.echo("\n" + render_sensitivity(report["sensitivity"]))
        if verify:
            from symscale.verify.chinchilla import render_verification

            click.echo("\n" + render_verification(report["verification"]))
    warn_sample_use(report)
    if verify and not report["verification"]["ok"]:
        raise SystemExit(1)


def build_report(objective: str, method: str, kwargs: dict, verify_dps: int | None = None,
                 sensitivity: bool = False) -> dict:
    """Parse the options left in ``kwargs``, solve for the chosen objective, optionally verify."""
    from symscale.cli.limit_options import limits_from_options, uses_limits

    limits = limits_from_options(kwargs, objective)
    coefficients = coefficients_from_options(kwargs)
    loss, reference = quality_from_options(kwargs, coefficients)
    demand = demand_spec_from_options(kwargs)
    train_gpus = kwargs.pop("train_gpus", None)
    if train_gpus is not None and objective != "cost":
        raise InputError(f"--train-gpus {train_gpus}: training days come from GPU-hours; add --objective cost")
    if uses_limits(coefficients, limits):
        return _limited(objective, loss, demand, coefficients, limits, kwargs, verify_dps, sensitivity, reference)
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, demand, force=True)
        report = cost_report(loss, settings, coefficients, method)
        weights = tuple(float(w) for w in settings.weights())
    else:
        refuse_cost_options(kwargs, demand)
        report = compute_report(loss, demand.lifetime_tokens(), coefficients, method)
        weights = compute_weights(report["inference_tokens"])
        settings = None
    if hasattr(reference, "score_map"):  # --target-score: the score and the loss its map implies
        from symscale.cli.score_target import add_score_target

        add_score_target(report, reference, coefficients, settings)
    elif reference is not None:
        add_reference(report, reference, settings)
    if train_gpus is not None:
        for key in ("baseline", "optimal", "reference"):
            if key in report:
                report[key]["train_days"] = report[key]["train_gpu_hours"] / train_gpus / 24.0
        report["train_gpus"] = train_gpus
    if verify_dps is not None:
        optimal = report["optimal"]
        if coefficients.law.is_chinchilla:
            from symscale.verify.chinchilla import verify_optimum

            report["verification"] = verify_optimum(loss, *weights, optimal["params"], optimal["tokens"],
                                                    coefficients, verify_dps)
        else:
            from symscale.verify.generic import verify_law_optimum

            report["verification"] = verify_law_optimum(coefficients.law, coefficients.values, loss, *weights,
                                                        optimal["params"], optimal["tokens"], verify_dps)
    if sensitivity:
        from symscale.scenarios.planning import sensitivities

        values = sensitivities(loss, *weights, coefficients)
        report["sensitivity"] = {row: {key: float(v) for key, v in cols.items()} for row, cols in values.items()}
    return report


def _limited(objective, loss, demand, coefficients, limits, kwargs, verify_dps, sensitivity, reference=None) -> dict:
    """solve with a law in U or with hard limits: the data-limited solver (symscale.solvers.data_limited);
    a --quality-of model is priced with the same weights beside the optimum (``reference``)."""
    from symscale.cli.limit_options import limited_report

    limited = any(v is not None for v in (limits.unique_tokens, limits.max_epochs, limits.max_params))
    if sensitivity and limited:
        raise InputError("--sensitivity is not available with --unique-tokens/--max-epochs/--max-params yet")
    base = {"objective": objective, "loss": loss, "coefficients": coefficient_block(coefficients)}
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, demand, force=True)
        weights = tuple(float(w) for w in settings.weights())
        base.update(inference_tokens=float(settings.inference_tokens), settings=plain_settings(settings))
    else:
        refuse_cost_options(kwargs, demand)
        base["inference_tokens"] = demand.lifetime_tokens()
        weights = compute_weights(base["inference_tokens"])
    report = limited_report(objective, loss, weights, coefficients, limits, base, verify_dps)
    if reference is not None and hasattr(reference, "params") and hasattr(reference, "name"):
        k_train, k_inf = weights
        n, d = float(reference.params), float(reference.tokens)
        report["reference"] = {"name": reference.name, "source": reference.source, "params": n, "tokens": d,
                               "tokens_per_param": d / n, "train": k_train * n * d, "inference": k_inf * n,
                               "total": k_train * n * d + k_inf * n}
        report["ratio_to_reference"] = {key: report["optimal"][key] / report["reference"][key]
                                        for key in ("params", "tokens", "total")}
    if objective == "cost":  # GPU-hours of each model, as solve gives them without limits
        from symscale.solvers.costs import model_costs
        from symscale.solvers.solve import Allocation

        for key in ("optimal", "unlimited", "reference"):
            if key in report:
                costs = model_costs(Allocation(report[key]["params"], report[key]["tokens"]), settings)
                report[key].update(train_gpu_hours=float(costs.train_gpu_hours),
                                   inference_gpu_hours=float(costs.inference_gpu_hours))
    if sensitivity:  # a law in U with unlimited unique data: its smooth regime (symscale.scenarios.planning_generic)
        from symscale.scenarios.planning import sensitivity_values

        report["sensitivity"] = sensitivity_values(loss, *weights, coefficients)
    return add_warnings(report, coefficients)


def compute_weights(inference_tokens: float) -> tuple[float, float]:
    """(k_train, k_inf) of the compute objective: FLOPs per parameter-token and per parameter."""
    from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

    return float(TRAIN_FLOPS_PER_PARAM_TOKEN), float(INFERENCE_FLOPS_PER_PARAM_TOKEN * inference_tokens)


COMMANDS = [solve]
