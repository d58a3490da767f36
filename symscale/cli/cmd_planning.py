"""`symscale budget`, `breakeven`, `overhead`: planning questions beyond the paper (see
symscale/scenarios/planning.py)."""

from __future__ import annotations

import click

from symscale.base import numbers as N
from symscale.base.precision import MAX_DPS, MIN_DPS
from symscale.cli.common import (
    Number,
    coefficient_options,
    coefficients_from_options,
    deprecated_alias,
    emit_json,
    render_table,
)
from symscale.cli.cost_options import (
    cost_options,
    cost_settings_from_options,
    describe_settings,
    hardware_options,
    objective_option,
    paper_settings_option,
    plain_settings,
    refuse_cost_options,
)
from symscale.cli.limit_options import limit_options, limits_from_options, uses_limits
from symscale.cli.options import (
    QUALITY_KEYS,
    demand_spec_from_options,
    grid_quality_options,
    loss_from_options,
    quality_from_options,
    quality_options,
    split_options,
)
from symscale.cli.score_target import render_scores, report_score_option, scores_at

POSITIVE_NUMBER = Number(0.0, strict_minimum=True)
VERIFY_OPTION = click.option("--verify", is_flag=True,
                             help="Re-check the answer with mpmath at --dps digits (adds `verification`).")
DPS_OPTION = click.option("--dps", type=click.IntRange(MIN_DPS, MAX_DPS), default=50, show_default=True,
                          help=f"Decimal digits for --verify ({MIN_DPS} to {MAX_DPS}, as `solve --dps`).")
FRACTION = Number(0.0, strict_minimum=True, maximum=1.0)
FLOP_KEYS = ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")
DOLLAR_KEYS = ("train_cost", "inference_cost", "total_cost")
LABELS = {
    "params": "Model size (params)", "tokens": "Training data (tokens)", "tokens_per_param": "Tokens per parameter",
    "train_flops": "Training FLOPs", "inference_flops": "Inference FLOPs", "total_flops": "Total FLOPs",
    "train_cost": "Training cost ($)", "inference_cost": "Inference cost ($)", "total_cost": "Total cost ($)",
}


def _coefficients_block(coefficients) -> dict:
    from symscale.cli.cmd_solve import coefficient_block

    return coefficient_block(coefficients)


def _baseline(loss, coefficients):
    """The equal-quality baseline: Chinchilla's closed form, or the law's training-compute-optimal model."""
    from symscale.solvers.solve import compute_optimal_baseline

    return compute_optimal_baseline(loss, coefficients)


def _baseline_label(report: dict) -> str:
    from symscale.cli.cmd_solve import baseline_label

    return baseline_label(report)


def _model_block(model, keys: tuple) -> dict:
    return {key: float(getattr(model, key)) for key in keys}


# --- budget -----------------------------------------------------------------------------------
def budget_report(kwargs: dict, flops: float | None, dollars: float | None, verify_dps: int | None = None,
                  objective: str = "compute") -> dict:
    """Parse the options left in ``kwargs`` and solve the budget problem (the JSON report of `budget`)."""
    from symscale.base.errors import InputError

    if (flops is None) == (dollars is None):
        raise InputError("give exactly one budget: --total-flops FLOPS or --total-dollars USD")
    if dollars is not None and objective != "cost":
        raise InputError(f"--total-dollars {dollars:g} is a dollar budget: add --objective cost")
    if flops is not None and objective == "cost":
        raise InputError(f"--total-flops {flops:g} is a FLOP budget; --objective cost takes --total-dollars USD")
    coefficients = coefficients_from_options(kwargs)
    demand = demand_spec_from_options(kwargs)
    limits = limits_from_options(kwargs, objective)
    if uses_limits(coefficients, limits):
        return limited_budget_report(kwargs, flops, dollars, coefficients, demand, limits, verify_dps)
    if objective == "compute":
        refuse_cost_options(kwargs, demand)
        report, optimum = _compute_budget(flops, demand.lifetime_tokens(), coefficients)
    else:
        report, optimum = _dollar_budget(dollars, cost_settings_from_options(kwargs, demand, force=True), coefficients)
    if verify_dps is not None:
        from symscale.scenarios.planning import verify_budget

        report["verification"] = verify_budget(optimum, coefficients, dps=verify_dps)
    return report


def _budget_block(report: dict, baseline: dict, optimal: dict, total: str) -> dict:
    """solve's keys: ``baseline`` (the Chinchilla-style model of the same loss), ``optimal`` and their ``ratio``."""
    ratio = {key: optimal[key] / baseline[key] for key in ("params", "tokens", "total_flops")}
    if total == "total_cost":
        ratio["total_cost"] = optimal["total_cost"] / baseline["total_cost"]
    return {**report, "baseline": baseline, "optimal": optimal, "ratio": ratio}


def _compute_budget(flops: float, demand: float, coefficients) -> tuple[dict, object]:
    from symscale.scenarios.planning import compute_budget_optimum
    from symscale.solvers.solve import ComputeModel

    optimum, model = compute_budget_optimum(flops, demand, coefficients)
    loss = float(optimum.loss)
    base = _baseline(loss, coefficients)
    baseline = ComputeModel(base.params, base.tokens, demand)
    report = {"objective": "compute", "budget": flops, "inference_tokens": demand, "loss": loss,
              "coefficients": _coefficients_block(coefficients), "iterations": optimum.iterations, **_minima(optimum)}
    return _budget_block(report, _model_block(baseline, FLOP_KEYS), _model_block(model, FLOP_KEYS),
                         "total_flops"), optimum


def _minima(optimum) -> dict:
    """The generic route's count of local minima along the budget curve (absent on the Chinchilla fast path)."""
    return {} if optimum.minima is None else {"local_minima": int(optimum.minima.max())}


def _dollar_budget(dollars: float, settings, coefficients) -> tuple[dict, object]:
    from symscale.scenarios.planning import cost_budget_optimum
    from symscale.solvers.costs import model_costs

    optimum = cost_budget_optimum(dollars, settings, coefficients)
    loss = float(optimum.loss)
    model = model_costs(optimum, settings)
    baseline = model_costs(_baseline(loss, coefficients), settings)
    report = {"objective": "cost", "budget": dollars, "inference_tokens": float(settings.inference_tokens),
              "loss": loss, "coefficients": _coefficients_block(coefficients), "settings": plain_settings(settings),
              "iterations": optimum.iterations, **_minima(optimum)}
    keys = FLOP_KEYS + DOLLAR_KEYS
    return _budget_block(report, _model_block(baseline, keys), _model_block(model, keys), "total_cost"), optimum


def limited_budget_report(kwargs: dict, flops, dollars, coefficients, demand, limits, verify_dps) -> dict:
    """`budget` with a law in U or hard limits: symscale.solvers.limited_budget, beside the budget without limits."""
    from symscale.base.errors import InputError
    from symscale.cli.cmd_solve import coefficient_block, compute_weights
    from symscale.cli.limit_options import _model
    from symscale.laws.limits import Limits
    from symscale.solvers.data_limited import has_unique_tokens
    from symscale.solvers.limited_budget import limited_budget
    from symscale.verify.generic import verify_limited

    law, values = coefficients.law, dict(coefficients.as_dict())
    if limits.unique_tokens is not None and limits.max_epochs is None and not has_unique_tokens(law):
        raise InputError(f"--unique-tokens {limits.unique_tokens:g} needs --max-epochs K with the law {law.name} "
                         "(it has no repetition term; the law muennighoff-2023 has one)")
    report = {"objective": "compute" if flops is not None else "cost", "budget": flops or dollars}
    if flops is not None:
        refuse_cost_options(kwargs, demand)
        report["inference_tokens"] = demand.lifetime_tokens()
        weights = compute_weights(report["inference_tokens"])
    else:
        settings = cost_settings_from_options(kwargs, demand, force=True)
        weights = tuple(float(w) for w in settings.weights())
        report.update(inference_tokens=float(settings.inference_tokens), settings=plain_settings(settings))
    limited = limited_budget(law, values, report["budget"], *weights, limits)
    free = limited_budget(law, values, report["budget"], *weights, Limits())
    unique = limits.unique_tokens
    report.update(
        loss=limited.loss, unlimited_loss=free.loss, limit_loss_cost=limited.loss - free.loss,
        limits={"unique_tokens": unique, "max_epochs": limits.max_epochs, "max_params": limits.max_params},
        optimal=_model(law, values, limited.optimum, weights, unique, report["objective"]),
        unlimited=_model(law, values, free.optimum, weights, None, report["objective"]),
        coefficients=coefficient_block(coefficients), iterations=limited.iterations)
    if verify_dps is not None:
        report["verification"] = verify_limited(law, values, limited.loss, *weights, limits, limited.optimum,
                                                verify_dps)
    return report


def render_limited_budget(report: dict) -> str:
    """Plain-text rendering of a budget report with limited unique data or hard limits."""
    from symscale.cli.limit_options import WHERE, _coefficients, _verification_lines, limited_table, limits_line

    dollars = report["objective"] == "cost"
    budget = N.dollars(report["budget"]) if dollars else f"{N.flops(report['budget'])} FLOPs"
    lines = [f"Lifetime budget {budget}; lifetime inference demand {N.count(report['inference_tokens'])} tokens",
             limits_line(report["limits"])]
    if dollars:
        lines += describe_settings(report["settings"])
    lines += [_coefficients(report), "",
              f"Best reachable loss: {report['loss']:.6f} with the limits, {report['unlimited_loss']:.6f} without "
              f"(the limits cost {report['limit_loss_cost']:.3g} in loss)", ""]
    opt, free = report["optimal"], report["unlimited"]
    lines.append(limited_table(free, opt, dollars))
    lines += ["", f"The optimum lies at {WHERE[opt['where']]}; regime "
                  f"{' and '.join(opt['regime']['conditions']) or '(the law is smooth)'}."]
    for c in opt["constraints"]:
        name = "D <= K*U" if c["name"] == "max_tokens" else "N <= N_max"
        lines.append(f"Constraint {name} ({N.count(c['limit'])}): {'active' if c['active'] else 'inactive'}")
    if "verification" in report:
        lines += ["", *_verification_lines(report["verification"])]
    return "\n".join(lines)


def render_budget(report: dict) -> str:
    """Plain-text rendering of a budget report."""
    if "limits" in report:
        return render_limited_budget(report)
    dollars = report["objective"] == "cost"
    keys = FLOP_KEYS + (DOLLAR_KEYS if dollars else ())
    total = "total_cost" if dollars else "total_flops"
    budget = N.dollars(report["budget"]) if dollars else f"{N.flops(report['budget'])} FLOPs"
    lines = [f"Lifetime budget {budget}; lifetime inference demand {N.count(report['inference_tokens'])} tokens"]
    if dollars:
        lines += describe_settings(report["settings"])
    from symscale.cli.cmd_solve import _coefficient_line

    label = _baseline_label(report)
    lines += [_coefficient_line(report), "", f"Best reachable loss: {report['loss']:.6f}", ""]
    base, best = report["baseline"], report["optimal"]
    rows = [(LABELS[key], N.readable(key, base[key]), N.readable(key, best[key])) for key in keys]
    lines.append(render_table(rows, ("", label, "Budget-optimal")))
    what = ("A Chinchilla-style model" if label == "Chinchilla-style"
            else f"The training-compute-optimal model of the law {report['coefficients']['law']['name']}")
    lines += ["", f"{what} of the same loss would need {N.share(1 / report['ratio'][total])} the budget."]
    if report.get("local_minima", 1) > 1:
        lines.append(f"The loss has {report['local_minima']} local minima along the budget curve; "
                     "the lowest is shown.")
    if "verification" in report:
        v = report["verification"]
        lines.append(f"Verified at {v['dps']} digits: {'ok' if v['ok'] else 'FAILED'} (params {v['digits']['params']}, "
                     f"tokens {v['digits']['tokens']}, budget {v['budget_digits']} agreeing digits)")
    return "\n".join(lines)


@click.command()
@click.option("--total-flops", "flops", type=POSITIVE_NUMBER, default=None, metavar="FLOPS",
              help="Lifetime budget in FLOPs (training + inference), e.g. 1e24 (compute objective).")
@click.option("--total-dollars", "dollars", type=POSITIVE_NUMBER, default=None, metavar="USD",
              help="Lifetime budget in dollars (with --objective cost), priced with the cost options.")
@objective_option("compute: a FLOP budget (--total-flops); cost: a dollar budget (--total-dollars), priced with "
                  "the hardware, price, MFU and input/output-token options (which need it).")
@deprecated_alias("--compute", "--total-flops", "flops", type=POSITIVE_NUMBER)
@deprecated_alias("--dollars", "--objective cost --total-dollars", "dollars", also={"objective": "cost"},
                  type=POSITIVE_NUMBER)
@cost_options
@limit_options
@coefficient_options
@VERIFY_OPTION
@DPS_OPTION
@report_score_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def budget(as_json: bool, verify: bool, dps: int, flops: float | None, dollars: float | None, objective: str,
           **kwargs) -> None:
    """The best loss a lifetime budget buys at an expected demand, and the model that reaches it.

    Minimises L(N, D) subject to k_train*N*D + k_inf*N = budget (the dual of `solve`). Demand is 0
    unless given. With no demand it is Chinchilla's compute-optimal allocation; `solve` at the
    returned loss gives back the same model, whose lifetime total equals the budget. JSON: as
    `solve`, `baseline` (the Chinchilla-style model of the same loss), `optimal` and `ratio`.

    Examples: symscale budget --total-flops 1e24 --inference-tokens 2e12;
    symscale budget --objective cost --total-dollars 5e6 --requests 1e10 --input-tokens 70 --output-tokens 215
    """
    names, spec = kwargs.pop("report_scores"), kwargs.get("coefficients_spec")
    report = budget_report(kwargs, flops, dollars, dps if verify else None, objective)
    if names:
        report["scores"] = scores_at(names, spec, report["loss"])
    if as_json:
        emit_json(report)
    else:
        click.echo(render_budget(report) + ("\n" + render_scores(report["scores"]) if names else ""))


# --- breakeven ----------------------------------------------------------------------------------
def _losses(kwargs: dict, coefficients) -> tuple[list[float], object]:
    """(the target losses, the --quality-of model or None): --loss GRID, the old --loss-range LOW HIGH
    --points N, or one other quality option."""
    import numpy as np

    from symscale.base.errors import InputError
    from symscale.scenarios.sweep import parse_grid

    text, log = kwargs.pop("loss"), kwargs.pop("log_grid")
    loss_range, points = kwargs.pop("loss_range", None), kwargs.pop("points", None)
    if loss_range is not None or points is not None:
        if text is not None or loss_range is None:
            raise InputError("--loss-range LOW HIGH (with --points) is the old form of --loss LOW:HIGH:N; "
                             "give --loss GRID alone")
        points = 5 if points is None else points
        if points < 1:
            raise InputError(f"--points must be >= 1, got {points}")
        return [float(v) for v in np.linspace(loss_range[0], loss_range[1], points)], None
    if text is None:
        if log:
            raise InputError("--log spaces a --loss start:stop:count range; give one")
        loss, extra = quality_from_options(kwargs, coefficients)
        for warning in getattr(extra, "warnings", None) or []:  # a --target-score's warnings, as elsewhere
            click.echo(f"Warning: {warning}", err=True)
        return [float(loss)], (extra if is_reference_model(extra) else None)
    given = [key for key in QUALITY_KEYS if kwargs.pop(key, None) is not None]
    if given:
        raise InputError(f"give --loss GRID or --{given[0].replace('_', '-')}, not both")
    values = parse_grid(text, log, "--loss")
    if not np.all(values > 0):
        raise InputError(f"--loss {text}: losses must be > 0")
    return [float(v) for v in values], None


def is_reference_model(reference) -> bool:
    """Whether the quality came from --quality-of (a published model or N:D), not from a score map."""
    return reference is not None and not hasattr(reference, "score_map")


def _add_reference(rows: list[dict], reference, settings) -> None:
    """--quality-of: that model at each row's break-even demand, and the optimum's ratios to it (as `solve`)."""
    from dataclasses import replace

    from symscale.cli.cmd_solve import add_reference
    from symscale.solvers.solve import Allocation, ComputeModel

    for row in rows:
        if settings is None:
            priced, optimal = None, ComputeModel(row["params"], row["tokens"], row["inference_tokens"]).as_dict()
        else:
            from symscale.solvers.costs import MODEL_KEYS, model_costs

            priced = replace(settings, requests=row["requests"])
            costs = model_costs(Allocation(row["params"], row["tokens"]), priced)
            optimal = {key: float(getattr(costs, key)) for key in MODEL_KEYS}
        view = {"inference_tokens": row["inference_tokens"], "optimal": optimal}
        add_reference(view, reference, priced)
        row["reference"], row["ratio_to_reference"] = view["reference"], view["ratio_to_reference"]


def breakeven_report(kwargs: dict, saving: float | None, size_ratio: float | None, objective: str,
                     verify_dps: int | None = None) -> dict:
    """Parse the options and find the break-even demand for each quality (the JSON report of `breakeven`).

    One shape whatever the input: the answers are in ``results``, a list with one row per loss.
    """
    from symscale.base.errors import InputError
    from symscale.scenarios.planning import breakeven_demand, critical_fraction, max_saving

    if (saving is None) == (size_ratio is None):
        raise InputError("give exactly one target: --saving FRACTION or --size-ratio FRACTION")
    coefficients = coefficients_from_options(kwargs)
    losses, reference = _losses(kwargs, coefficients)
    demand = demand_spec_from_options(kwargs)
    settings = None
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, demand, force=True)
    else:
        refuse_cost_options(kwargs, demand)
    if verify_dps is not None:
        from symscale.cli.cmd_verify import check_verify_size

        check_verify_size(len(losses), verify_dps, f"--verify of {len(losses)} losses")
    result, demand_values = breakeven_demand(losses, coefficients, saving=saving, size_ratio=size_ratio,
                                             settings=settings)
    rows = [_breakeven_row(result, demand_values, i, settings) for i in range(len(losses))]
    if reference is not None:
        _add_reference(rows, reference, settings)
    if verify_dps is not None:
        from symscale.scenarios.planning import verify_breakeven

        for i, row in enumerate(rows):
            row["verification"] = verify_breakeven(result, coefficients, dps=verify_dps, index=i)
    if not coefficients.law.is_chinchilla:  # the limits depend on the loss: one pair per row
        for row in rows:
            row["max_saving"] = max_saving(coefficients, row["loss"])
            row["critical_fraction"] = critical_fraction(coefficients, row["loss"])
    report = {
        "objective": objective,
        "target": {"saving": saving} if saving is not None else {"size_ratio": size_ratio},
        "max_saving": max_saving(coefficients, losses[0]),
        "critical_fraction": critical_fraction(coefficients, losses[0]),
        "coefficients": _coefficients_block(coefficients),
    }
    if settings is not None:
        report["settings"] = plain_settings(settings)
    return {**report, "results": rows}


def _breakeven_row(result, demand_values, i: int, settings) -> dict:
    row = {
        "loss": float(result.loss[i]),
        "params": float(result.params[i]), "tokens": float(result.tokens[i]),
        "chinchilla_params": float(result.chinchilla_params[i]),
        "chinchilla_tokens": float(result.chinchilla_tokens[i]),
        "saving": float(result.saving[i]), "size_ratio": float(result.size_ratio[i]),
        "rho": float(result.rho[i]),
    }
    if settings is None:
        return {**row, "inference_tokens": float(demand_values[i])}
    per_request = float(settings.input_tokens + settings.output_tokens)
    requests = float(demand_values[i])
    return {**row, "requests": requests, "inference_tokens": requests * per_request}


def render_breakeven(report: dict) -> str:
    """Plain-text rendering of a breakeven report."""
    target = report["target"]
    chinchilla = _baseline_label(report) == "Chinchilla-style"
    base = "Chinchilla" if chinchilla else "training-optimal"
    what = (f"saves {N.ratio(target['saving'])} of lifetime {'dollars' if report['objective'] == 'cost' else 'FLOPs'}"
            if "saving" in target else f"has {N.ratio(target['size_ratio'])} of the {base} params")
    against = ("the Chinchilla-style model" if chinchilla else
               f"the training-compute-optimal model of the law {report['coefficients']['law']['name']}")
    lines = [f"Demand at which the lifetime-optimal model {what}, against {against} of the same loss"]
    if "settings" in report:
        lines += describe_settings(report["settings"])[1:]
    rows = report.get("results", [report])
    cost = report["objective"] == "cost"
    header = ("Loss", "Demand (tokens)", *(("Requests",) if cost else ()), "Params", "Tokens", "Saving", "Size ratio")
    table = [(f"{r['loss']:.4f}", N.count(r["inference_tokens"]), *((N.count(r["requests"]),) if cost else ()),
              N.count(r["params"]), N.count(r["tokens"]), N.ratio(r["saving"]), N.ratio(r["size_ratio"]))
             for r in rows]
    where = "any demand, any loss" if chinchilla else f"any demand, at loss {rows[0]['loss']:.4f}"
    lines += ["", render_table(table, header), "",
              f"Largest reachable saving ({where}): {N.ratio(report['max_saving'])}; "
              f"the optimum never shrinks below {N.ratio(report['critical_fraction'])} of the {base} size."]
    total, what = ("total_cost", "lifetime dollars") if cost else ("total_flops", "lifetime FLOPs")
    for r in rows:
        if "reference" in r:
            ratio, ref = r["ratio_to_reference"], r["reference"]
            lines.append(f"Against {ref['name']} ({N.count(ref['params'])} params on {N.count(ref['tokens'])} tokens, "
                         f"the quality asked for) at that demand: {N.share(ratio['params'])} the parameters, "
                         f"{N.share(ratio['tokens'])} the tokens, {N.share(ratio[total])} the {what}.")
    checks = [r["verification"] for r in rows if "verification" in r]
    if checks:
        ok = all(v["ok"] for v in checks)
        worst = min(min(v["digits"].values()) for v in checks)
        lines.append(f"Verified at {checks[0]['dps']} digits: {'ok' if ok else 'FAILED'} "
                     f"(at least {worst} agreeing digits in params and tokens)")
    return "\n".join(lines)


@click.command()
@grid_quality_options
@deprecated_alias("--loss-range", "--loss LOW:HIGH:N", "loss_range", nargs=2, type=POSITIVE_NUMBER, metavar="LOW HIGH")
@deprecated_alias("--points", "--loss LOW:HIGH:N", "points", type=int)
@click.option("--saving", type=FRACTION, default=None, metavar="FRACTION",
              help="Target saving over the equal-quality Chinchilla-style model, e.g. 0.1.")
@click.option("--size-ratio", type=FRACTION, default=None, metavar="FRACTION",
              help="Target size of the optimum as a fraction of the Chinchilla params, e.g. 0.5.")
@objective_option("compute: savings in FLOPs, the answer in inference tokens; cost: savings in dollars, the answer "
                  "in requests, priced with the hardware, price, MFU and input/output-token options (which need it).")
@paper_settings_option
@hardware_options
@split_options
@coefficient_options
@VERIFY_OPTION
@DPS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def breakeven(as_json: bool, verify: bool, dps: int, saving, size_ratio, objective: str, **kwargs) -> None:
    """The inference demand at which the lifetime-optimal model saves a given fraction, or has a given size.

    The demand is the answer, so no demand option is taken (with --objective cost, --input-tokens and
    --output-tokens set the split of each request). The saving over the Chinchilla-style model of the
    same loss rises with demand towards a limit (the same for every loss); the root in ln(demand) is
    bracketed and solved by safeguarded Newton. The size ratio has a closed form. JSON: the answers in
    `results`, one row per loss, also for one loss.

    Examples: symscale breakeven --chinchilla-params 70B --saving 0.1;
    symscale breakeven --loss 1.9:2.2:4 --size-ratio 0.5
    """
    report = breakeven_report(kwargs, saving, size_ratio, objective, dps if verify else None)
    if as_json:
        emit_json(report)
    else:
        click.echo(render_breakeven(report))


# --- overhead -----------------------------------------------------------------------------------
def overhead_report(kwargs: dict, ratios: tuple, params: float | None, objective: str = "compute") -> dict:
    """Parse the options and compute the overhead of smaller models (the JSON report of `overhead`).

    One shape whatever the input: one row per size ratio in ``results``.
    """
    import numpy as np

    from symscale.base.errors import InputError
    from symscale.scenarios.planning import overhead

    coefficients = coefficients_from_options(kwargs)
    loss = loss_from_options(kwargs, coefficients)
    spec = demand_spec_from_options(kwargs)
    if objective == "cost":
        settings = cost_settings_from_options(kwargs, spec, force=True)
        demand = float(settings.inference_tokens)
    else:
        refuse_cost_options(kwargs, spec)
        settings, demand = None, spec.lifetime_tokens()
    if bool(ratios) == (params is not None):
        raise InputError("give the smaller model one way: --size-ratio K (repeatable) or --params N")
    if params is not None:
        ratios = (params / float(_baseline(loss, coefficients).params),)
    result = overhead(np.array(ratios, float), loss, coefficients, demand)
    rows = [_overhead_row(result, i, settings) for i in range(len(ratios))]
    report = {
        "objective": objective, "loss": loss, "inference_tokens": demand,
        "critical_fraction": float(result.critical_fraction[0]), "critical_params": float(result.critical_params[0]),
        "coefficients": _coefficients_block(coefficients),
        "chinchilla": _priced(_at(result.chinchilla, 0), settings),
    }
    if settings is not None:
        report["settings"] = plain_settings(settings)
    return {**report, "results": rows}


def _at(model, i: int):
    from symscale.solvers.solve import ComputeModel

    return ComputeModel(model.params[i], model.tokens[i], model.inference_tokens[i])


def _priced(model, settings) -> dict:
    """A model's FLOP keys, and with cost settings its dollar keys."""
    block = _model_block(model, FLOP_KEYS)
    if settings is None:
        return block
    from symscale.solvers.costs import model_costs
    from symscale.solvers.solve import Allocation

    costs = model_costs(Allocation(model.params, model.tokens), settings)
    return {**block, **_model_block(costs, DOLLAR_KEYS)}


def _overhead_row(result, i: int, settings=None) -> dict:
    model, base = _at(result.model, i), _at(result.chinchilla, i)
    row = {
        "size_ratio": float(result.fraction[i]),
        "model": _priced(model, settings),
        "token_ratio": float(result.token_ratio[i]), "extra_tokens": float(result.extra_tokens[i]),
        "compute_ratio": float(result.compute_ratio[i]), "compute_overhead": float(result.compute_overhead[i]),
        "extra_train_flops": float(result.extra_train_flops[i]),
        "total_flops_ratio": float(model.total_flops / base.total_flops),
    }
    if settings is not None:
        row["total_cost_ratio"] = row["model"]["total_cost"] / _priced(base, settings)["total_cost"]
    return row


def render_overhead(report: dict) -> str:
    """Plain-text rendering of an overhead report."""
    base = report["chinchilla"]
    chinchilla = _baseline_label(report) == "Chinchilla-style"
    law = report["coefficients"]["law"]["name"]
    name = "Chinchilla-optimal" if chinchilla else f"training-optimal under the law {law}"
    cost = "settings" in report
    lines = [f"Target loss {report['loss']:.6g} ({name}: {N.count(base['params'])} params, "
             f"{N.count(base['tokens'])} tokens, {N.flops(base['train_flops'])} training FLOPs)",
             f"Lifetime inference demand {N.count(report['inference_tokens'])} tokens"]
    if cost:
        lines += describe_settings(report["settings"])
    rows = report["results"]
    total = ("Lifetime cost ratio",) if cost else ()
    header = ("Size ratio", "Params", "Tokens", "Token ratio", "Compute overhead", "Lifetime FLOPs ratio", *total)
    table = [(f"{r['size_ratio']:.4g}", N.count(r["model"]["params"]), N.count(r["model"]["tokens"]),
              f"{r['token_ratio']:.4g}", N.ratio(r["compute_overhead"]), N.ratio(r["total_flops_ratio"]),
              *((N.ratio(r["total_cost_ratio"]),) if cost else ())) for r in rows]
    lines += ["", render_table(table, header), "",
              f"Critical size: {report['critical_fraction']:.4f} x {'Chinchilla' if chinchilla else 'training-optimal'}"
              f" ({N.count(report['critical_params'])} params); no amount of data reaches the loss below it.",
              *(["Token ratio and compute overhead depend on the size ratio only, not on the loss."]
                if chinchilla else [])]
    return "\n".join(lines)


@click.command()
@quality_options
@click.option("--size-ratio", "ratios", type=POSITIVE_NUMBER, multiple=True, metavar="K",
              help="Model size relative to the Chinchilla-optimal size (repeatable), e.g. 0.5.")
@deprecated_alias("--fraction", "--size-ratio", "ratios", type=POSITIVE_NUMBER, multiple=True)
@click.option("--params", type=POSITIVE_NUMBER, default=None, metavar="N", help="Model size in parameters instead.")
@objective_option("compute: FLOPs; cost: also the dollars of each model and the lifetime cost ratio, priced with the "
                  "hardware, price, MFU and input/output-token options (which need it).")
@cost_options
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def overhead(as_json: bool, ratios: tuple, params: float | None, objective: str, **kwargs) -> None:
    """Extra data and training compute a model k times the Chinchilla size needs to reach the same loss.

    Also reports the critical model size, below which no amount of data reaches that loss (the
    "critical model size" of De Vries 2023, discussed in Sardana et al. Section 3). Demand is 0
    unless given; with demand the lifetime FLOPs ratio includes inference. JSON: one row per
    --size-ratio in `results`, also for one.

    Examples: symscale overhead --chinchilla-params 70B --size-ratio 0.5 --size-ratio 0.3;
    symscale overhead --loss 2.0 --params 7B --inference-tokens 2e12
    """
    report = overhead_report(kwargs, ratios, params, objective)
    if as_json:
        emit_json(report)
    else:
        click.echo(render_overhead(report))


COMMANDS = [budget, breakeven, overhead]
