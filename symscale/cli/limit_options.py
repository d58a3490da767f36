"""The data wall on the command line: --unique-tokens, --max-epochs, --max-params, and their reports.

A law in U (muennighoff-2023) takes --unique-tokens as its input U (unlimited fresh data when not
given); with any law, --unique-tokens U --max-epochs K imposes D <= K*U and --max-params N <= N_max
as hard limits. `solve` then runs :func:`symscale.solvers.data_limited.solve_limited`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import click

from symscale.base import numbers as N
from symscale.base.errors import InputError
from symscale.cli.common import POSITIVE, fmt, render_table

LIMIT_KEYS = ("unique_tokens", "max_epochs", "max_params")
DEFAULT_INFERENCE_DTYPE = "fp8"   # as the cost objective's default inference data type


def unique_tokens_option(func: Callable) -> Callable:
    """--unique-tokens U: the unique training data available."""
    return click.option("--unique-tokens", type=POSITIVE, default=None, metavar="U",
                        help="Unique training tokens available (e.g. 3T): the input U of a law with a repetition "
                        "term (muennighoff-2023; unlimited if not given), and the base of --max-epochs.")(func)


def limit_options(func: Callable) -> Callable:
    """--unique-tokens, --max-epochs and --max-params (hard limits for any law)."""
    func = click.option("--max-params-for", default=None, metavar="GPU",
                        help="Deployment limit from the hardware catalog: the weights must fit in one GPU's memory "
                        "at --inference-dtype (default fp8; 1 byte a parameter for fp8/int8, 2 for bf16/fp16), "
                        "e.g. H100 at fp8: N <= 8e10.")(func)
    func = click.option("--max-params", type=POSITIVE, default=None, metavar="N",
                        help="Deployment limit: at most N parameters (N <= N_max, an inequality constraint).")(func)
    func = click.option("--max-epochs", type=POSITIVE, default=None, metavar="K",
                        help="At most K epochs of the unique data: D <= K*U (needs --unique-tokens; any law).")(func)
    return unique_tokens_option(func)


def limits_from_options(kwargs: dict, objective: str = "compute"):
    """Pop the limit options (absent keys count as not given) and check that they fit together.

    --max-params-for GPU reads --inference-dtype (and, for the compute objective, consumes it).
    """
    from symscale.laws.limits import Limits

    unique, epochs, params = (kwargs.pop(key, None) for key in LIMIT_KEYS)
    gpu_name = kwargs.pop("max_params_for", None)
    if gpu_name is not None:
        params = _params_for(gpu_name, params, kwargs, objective)
    if epochs is not None and unique is None:
        raise InputError(f"--max-epochs {epochs:g} needs --unique-tokens (D <= K*U)")
    if epochs is not None and not math.isfinite(epochs * unique):
        raise InputError(f"--max-epochs {epochs:g} x --unique-tokens {unique:g}: the token limit K*U is beyond "
                         "floating-point range; give a smaller K or U")
    return Limits(unique, epochs, params)


def _params_for(gpu_name: str, params: float | None, kwargs: dict, objective: str) -> float:
    """N_max of --max-params-for GPU: one GPU's memory over the bytes per parameter of the inference dtype."""
    from symscale.solvers.costs import params_fitting

    if params is not None:
        raise InputError(f"give --max-params {params:g} or --max-params-for {gpu_name}, not both")
    dtype = kwargs.get("inference_dtype")
    if objective == "compute" and "inference_dtype" in kwargs:
        kwargs["inference_dtype"] = None  # read here: not a cost option for the compute objective
    return params_fitting(gpu_name, dtype or DEFAULT_INFERENCE_DTYPE)


def uses_limits(coefficients, limits) -> bool:
    """Whether the data-limited solver is needed: a law in U, or any limit given."""
    return coefficients.law.uses_unique_tokens or any(v is not None for v in
                                                      (limits.unique_tokens, limits.max_epochs, limits.max_params))


# --- solve -----------------------------------------------------------------------------------------
def limited_report(objective: str, loss: float, weights: tuple[float, float], coefficients, limits,
                   base: dict, verify_dps: int | None = None) -> dict:
    """The report of `solve` with the data-limited solver: the optimum within the limits beside the one without
    (with ``verify_dps``, the optimum re-solved with mpmath in its regime)."""
    from symscale.solvers.data_limited import Limits, has_unique_tokens, solve_limited, unique_token_value
    from symscale.verify.generic import verify_limited

    law, values = coefficients.law, dict(coefficients.values)
    k_train, k_inf = weights
    if limits.unique_tokens is not None and limits.max_epochs is None and not has_unique_tokens(law):
        raise InputError(f"--unique-tokens {limits.unique_tokens:g} needs --max-epochs K with the law {law.name} "
                         "(it has no repetition term; the law muennighoff-2023 has one)")
    limited = solve_limited(law, values, loss, k_train, k_inf, limits)
    free = solve_limited(law, values, loss, k_train, k_inf, Limits())
    unique = limits.unique_tokens
    report = {
        **base,
        "limits": {"unique_tokens": unique, "max_epochs": limits.max_epochs, "max_params": limits.max_params},
        "optimal": _model(law, values, limited, weights, unique, objective),
        "unlimited": _model(law, values, free, weights, None, objective),
        "constraints": [c.as_dict() for c in limited.constraints],
    }
    repeats = unique is not None and has_unique_tokens(law) and free.tokens > unique * (1 + 1e-12)
    report["data_limit_binds"] = bool(repeats or any(c.active for c in limited.constraints))
    report["limit_cost"] = {"ratio": limited.objective / free.objective,
                            "extra": limited.objective - free.objective}
    if unique is not None and has_unique_tokens(law):
        report["unique_token_value"] = unique_token_value(law, values, limited, k_train, k_inf, unique)
    if verify_dps is not None:
        report["verification"] = verify_limited(law, values, loss, k_train, k_inf, limits, limited, verify_dps)
    return report


def _model(law, values, optimum, weights, unique, objective: str) -> dict:
    from symscale.solvers.data_limited import UNLIMITED, effective, regimes

    k_train, k_inf = weights
    n, d = optimum.params, optimum.tokens
    model = {"params": n, "tokens": d, "tokens_per_param": d / n, "train": k_train * n * d, "inference": k_inf * n,
             "total": optimum.objective, "where": optimum.where,
             "regime": {"index": optimum.regime,
                        "conditions": [str(r) for r in regimes(law)[optimum.regime].relations]}}
    if unique is not None:
        model["epochs"] = d / unique
    pieces = effective(law, values, n, d, UNLIMITED if unique is None else unique)
    if "D_eff" in pieces:
        model["effective_tokens"], model["effective_params"] = pieces["D_eff"], pieces["N_eff"]
        model["n_opt"] = pieces["N_opt"]
    model["constraints"] = [c.as_dict() for c in optimum.constraints]
    return model


ROWS = (("params", "Model size (params)"), ("tokens", "Training data (tokens)"),
        ("tokens_per_param", "Tokens per parameter"), ("epochs", "Epochs (D/U)"),
        ("effective_tokens", "Effective tokens D'"), ("effective_params", "Effective params N'"),
        ("train", "Training {unit}"), ("inference", "Inference {unit}"), ("total", "Total {unit}"),
        ("train_gpu_hours", "Training GPU-hours"), ("inference_gpu_hours", "Inference GPU-hours"))

WHERE = {"stationary": "a stationary point of its regime", "kink": "a kink of the law (regime boundary)",
         "max_tokens": "the limit D <= K*U", "max_params": "the limit N <= N_max"}


def limits_line(lim: dict) -> str:
    """'Limits: unique tokens U = 1.000T; at most 1 epochs (D <= 1.000T); ...' of a report's ``limits``."""
    given = [f"unique tokens U = {N.count(lim['unique_tokens'])}" if lim["unique_tokens"] is not None else
             "unique tokens unlimited"]
    if lim["max_epochs"] is not None:
        given.append(f"at most {lim['max_epochs']:g} epochs (D <= {N.count(lim['max_epochs'] * lim['unique_tokens'])})")
    if lim["max_params"] is not None:
        given.append(f"at most {N.count(lim['max_params'])} params")
    return "Limits: " + "; ".join(given)


def limited_table(free: dict, opt: dict, dollars: bool) -> str:
    """The optimum without and with the limits side by side (the rows of ROWS either model has)."""
    unit = "cost ($)" if dollars else "FLOPs"

    def cell(model: dict, key: str) -> str:
        if key not in model:
            return "-"
        if key in ("tokens_per_param", "epochs"):
            return f"{model[key]:.4g}"
        if key in ("train", "inference", "total"):
            return N.dollars(model[key]) if dollars else N.flops(model[key])
        if key.endswith("gpu_hours"):
            return N.hours(model[key])
        return N.count(model[key])

    rows = [(label.format(unit=unit), cell(free, key), cell(opt, key)) for key, label in ROWS
            if key in opt or key in free]
    return render_table(rows, ("", "Without limits", "With limits"))


def render_limited(report: dict) -> str:
    """Plain-text rendering of a data-limited solve report."""
    money = "FLOPs" if report["objective"] == "compute" else "$"

    def _money(value: float) -> str:
        return f"{N.flops(value)} FLOPs" if money == "FLOPs" else N.dollars(value)
    lim = report["limits"]
    demand = N.count(report["inference_tokens"])
    lines = [f"Target loss {report['loss']:.6g}; lifetime inference demand {demand} tokens", limits_line(lim)]
    if "settings" in report:
        from symscale.cli.cost_options import describe_settings

        lines += describe_settings(report["settings"])
    lines += [_coefficients(report), ""]
    opt, free = report["optimal"], report["unlimited"]
    lines.append(limited_table(free, opt, money == "$"))
    lines += ["", f"The optimum lies at {WHERE[opt['where']]}; regime "
                  f"{' and '.join(opt['regime']['conditions']) or '(the law is smooth)'}."]
    if "n_opt" in opt:
        lines.append(f"Compute-optimal size for the unique data used, N_opt(U_D) = {N.count(opt['n_opt'])} "
                     f"({'exceeded: excess parameters decay' if opt['params'] > opt['n_opt'] else 'not exceeded'}).")
    binds = report["data_limit_binds"]
    lines.append(f"The limits {'bind' if binds else 'do not bind'}: the optimum with them costs "
                 f"{N.share(report['limit_cost']['ratio'])} the optimum without them "
                 f"(extra {_money(report['limit_cost']['extra'])}).")
    for c in report["constraints"]:
        name = "D <= K*U" if c["name"] == "max_tokens" else "N <= N_max"
        per = "token" if c["name"] == "max_tokens" else "parameter"
        state = f"active, multiplier {fmt(c['multiplier'])} {money} per {per}" if c["active"] else "inactive"
        lines.append(f"Constraint {name} ({N.count(c['limit'])}): {state}")
        if c["active"] and c["name"] == "max_tokens":
            lines.append(f"  one more unique token saves {fmt(c['multiplier'] * lim['max_epochs'])} {money}")
    if "unique_token_value" in report:
        lines.append(f"Marginal value of one more unique token: {fmt(report['unique_token_value'])} {money} "
                     "(-d total/dU)")
    if "reference" in report:
        ref, ratio = report["reference"], report["ratio_to_reference"]
        lines.append(f"Against {ref['name']} ({N.count(ref['params'])} params on {N.count(ref['tokens'])} tokens, "
                     f"the quality asked for; lifetime {_money(ref['total'])}): the optimum within the limits has "
                     f"{N.share(ratio['params'])} its parameters, {N.share(ratio['tokens'])} its tokens and "
                     f"costs {N.share(ratio['total'])} its lifetime total.")
    if "verification" in report:
        lines += ["", *_verification_lines(report["verification"])]
    return "\n".join(lines)


def _verification_lines(v: dict) -> list[str]:
    how = ("the regime's KKT system" if v["where"] == "stationary" else
           "L = loss and the boundary it lies on, then the objective on each feasible side along the curve")
    regime = " and ".join(v["conditions"]) or "smooth"
    return [f"Verification (mpmath, {v['dps']} digits, regime {v['regime']}: {regime}; {how}):",
            f"  N* = {v['params_precise']}", f"  D* = {v['tokens_precise']}",
            f"  agreeing significant digits: params {v['digits']['params']:g}, tokens {v['digits']['tokens']:g}",
            f"  result: {'verified' if v['ok'] else 'FAILED: ' + '; '.join(v['failures'])}"]


def _coefficients(report: dict) -> str:
    c = dict(report["coefficients"])
    name, law = c.pop("name"), c.pop("law")
    return f"Coefficients: {name} (law {law['name']}; " + ", ".join(f"{k} = {v:g}" for k, v in c.items()) + ")"


# --- derive ---------------------------------------------------------------------------------------
def derive_limit_options(func: Callable) -> Callable:
    """derive's --max-epochs / --max-params flags: add the hard limits to the printed KKT system."""
    func = click.option("--max-params", "with_max_params", is_flag=True,
                        help="Add the deployment limit N <= N_max (KKT with complementary slackness).")(func)
    return click.option("--max-epochs", "with_max_epochs", is_flag=True,
                        help="Add the data limit D <= D_max = K*U (KKT with complementary slackness).")(func)


def limited_steps(law, objective: str, problem: str, kwargs: dict):
    """derive's steps for a law in U or with limit flags (pops the flags); None when the usual steps apply."""
    from symscale.solvers.data_limited import has_unique_tokens, steps

    epochs, params = kwargs.pop("with_max_epochs", False), kwargs.pop("with_max_params", False)
    if not (has_unique_tokens(law) or epochs or params):
        return None
    if problem != "optimum" or objective == "cost":
        raise InputError(f"--law {law.name} / --max-epochs / --max-params: derive shows the lifetime optimum with "
                         "--objective compute or general")
    return steps(law, objective, epochs, params)


# --- calc ------------------------------------------------------------------------------------------
def floor_option(func: Callable) -> Callable:
    return click.option("--floor", is_flag=True,
                        help="Print the loss floor of finite data: the lowest loss any N and D reach with "
                        "--unique-tokens U.")(func)


def data_calc(coefficients, unique: float | None, floor: bool, model_report: Callable[[], dict]) -> dict | None:
    """The calc report of a law in U (or --floor / epochs for any law); None when calc's own report applies."""
    from symscale.solvers.data_limited import UNLIMITED, data_floor, effective, has_unique_tokens

    law = coefficients.law
    in_u = has_unique_tokens(law)
    if floor:
        if unique is None:
            raise InputError("--floor needs --unique-tokens U (the floor of finite data at U)")
        value = data_floor(law, dict(coefficients.values), unique)
        return {"law": law.name, "unique_tokens": unique, "floor": value}
    if not in_u:
        if unique is None:
            return None
        report = model_report()
        report.update({"unique_tokens": unique, "epochs": report["tokens"] / unique})
        return report
    report = model_report()
    u = UNLIMITED if unique is None else unique
    pieces = effective(law, dict(coefficients.values), report["params"], report["tokens"], u)
    from symscale.solvers.data_limited import law_loss

    report["loss"] = float(law_loss(law, dict(coefficients.values), report["params"], report["tokens"], u))
    report.update({"unique_tokens": unique, "effective_tokens": pieces.get("D_eff"),
                   "effective_params": pieces.get("N_eff"), "n_opt": pieces.get("N_opt")})
    if unique is not None:
        report["epochs"] = report["tokens"] / unique
    return report


def render_data_calc(report: dict) -> str | None:
    """Extra lines (or the whole text for --floor) of a data-limited calc report."""
    if "floor" in report:
        return (f"Loss floor with {N.count(report['unique_tokens'])} unique tokens under the law {report['law']}: "
                f"{report['floor']:.6f} (the limit as N and D grow; no finite model reaches it)")
    lines = []
    if report.get("unique_tokens") is not None:
        lines.append(f"Unique tokens (U):       {N.count(report['unique_tokens'])}")
        lines.append(f"Epochs (D/U):            {report['epochs']:.4g}")
    if report.get("effective_tokens") is not None:
        lines.append(f"Effective tokens (D'):   {N.count(report['effective_tokens'])}")
        lines.append(f"Effective params (N'):   {N.count(report['effective_params'])}")
        lines.append(f"N_opt(U_D):              {N.count(report['n_opt'])}")
    return "\n".join(lines)
