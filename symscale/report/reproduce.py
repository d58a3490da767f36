"""Reproduce the paper's tables and quantitative claims: printed value beside symscale's, with a verdict.

A value matches when symscale's number, rounded to the significant figures the paper prints, equals
the printed number. Differences are diagnosed, not hidden: a printed value off by a power of ten is
reported as a typo, and the cost results are also evaluated at the inference price that Table 3 turns
out to be consistent with, so that a gap caused by that price is named as such.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from symscale.base.datafiles import read_rows
from symscale.base.errors import InputError
from symscale.scenarios.sweep import PAPER_COST_SETTINGS

SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_PRINTED = re.compile(r"^\$?([0-9]*\.?[0-9]+)(?:e([-+]?\d+))?\s*([KMBT%x]?)$")
STATED_INFERENCE_PRICE = 1.10
TABLE3_INFERENCE_PRICE = 1.00  # the price at which Table 3's printed numbers are reproduced (see costs tests)
AT_TABLE3_PRICE = f"inference at ${TABLE3_INFERENCE_PRICE:.2f}/h instead of ${STATED_INFERENCE_PRICE:.2f}/h"
FITTED_PRICE = "the inference price ($/h) at which symscale gives the printed value"
ROUNDING_NOTE = ("rounding: symscale's value printed with 4 significant figures (as the authors' scripts print) "
                 "and then rounded half-up gives the printed value")
FIT_NOTE = ("differs beyond the printed digits, but symscale's fit reaches a lower Huber objective than the printed "
            "coefficients: the difference lies in the fit (optimiser, start grid, rounding of the printed values), "
            "and A, B, E trade off against each other along a flat valley")


@dataclass(frozen=True)
class Check:
    """One printed number beside symscale's, with the verdict."""

    source: str
    item: str
    printed: str
    paper: float
    ours: float
    sig_figs: int
    rel_diff: float
    status: str  # "match", "explained" (differs, cause found) or "unexplained"
    reason: str
    notes: tuple[str, ...] = ()  # the causes, each worded without this check's numbers (text footnotes)
    readings: dict[str, float] = field(default_factory=dict)  # symscale's value under other readings, by label

    def as_dict(self) -> dict:
        return asdict(self)


# --- printed numbers -------------------------------------------------------------------------
def parse_printed(text: str) -> tuple[float, int]:
    """(value, significant figures) of a number as printed: '27.4B', '2.64e20', '9.1%', '1.18x', '3.77K'."""
    match = _PRINTED.match(text.strip())
    if not match:
        raise InputError(f"cannot read the printed number {text!r}")
    mantissa, exponent, suffix = match.groups()
    value = float(mantissa) * 10.0 ** int(exponent or 0)
    value *= 0.01 if suffix == "%" else SUFFIXES.get(suffix, 1.0)
    return value, len(mantissa.replace(".", "").lstrip("0")) or 1


def round_sig(value: float, sig_figs: int) -> float:
    """``value`` rounded to ``sig_figs`` significant figures."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, sig_figs - 1 - math.floor(math.log10(abs(value))))


def matches(ours: float, paper: float, sig_figs: int) -> bool:
    """Whether ``ours`` rounds to ``paper`` at the printed significant figures."""
    return math.isclose(round_sig(ours, sig_figs), paper, rel_tol=1e-9)


def round_half_up(value: float, sig_figs: int) -> float:
    """``value`` rounded half-up (as people round by hand) to ``sig_figs`` significant figures, in decimal."""
    from decimal import ROUND_HALF_UP, Decimal

    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value))) - sig_figs + 1
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP))


SCRIPT_SIG_FIGS = 4  # the authors' scripts print 4 significant figures (e.g. 2.418e+10)


def double_rounded(ours: float, sig_figs: int) -> float:
    """``ours`` as printed by the authors' scripts (4 s.f.) and then rounded half-up to ``sig_figs``."""
    return round_half_up(round_half_up(ours, SCRIPT_SIG_FIGS), sig_figs)


def magnitude_slip(ours: float, paper: float, tolerance: float = 0.05) -> int | None:
    """k such that the printed value times 10**k is within ``tolerance`` of ours (a unit or decimal typo)."""
    if ours == 0 or not math.isfinite(ours):
        return None  # no power of ten relates a printed value to 0 (or to a non-number)
    for k in (1, 2, 3, -1, -2, -3):
        if abs(paper * 10.0**k / ours - 1) <= tolerance:
            return k
    return None


def show(value: float, like: str, extra: int = 0) -> str:
    """``value`` written in the style of the paper's ``like`` (suffix, %, x or exponent), ``extra`` digits more."""
    _, sig = parse_printed(like)
    digits = max(sig, 2) + extra
    if like.endswith("%"):
        return f"{100 * value:.{digits}g}%"
    if like.endswith("x"):
        return f"{value:.{digits}g}x"
    if "e" in like:
        return f"{value:.{digits - 1}e}".replace("e+", "e")
    for suffix, scale in reversed(SUFFIXES.items()):
        if like.rstrip().endswith(suffix):
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def _check(source: str, item: str, printed: str, ours: float, known: str = "",
           alternatives: list[tuple[str, float]] | None = None) -> Check:
    """Compare one value; on a difference, try a magnitude slip and the given alternative readings."""
    paper, sig = parse_printed(printed)
    rel = ours / paper - 1 if paper else math.inf
    if matches(ours, paper, sig):
        return Check(source, item, printed, paper, ours, sig, rel, "match", "matches to the printed precision")
    reasons, notes, status = [], [], "unexplained"
    slip = magnitude_slip(ours, paper)
    if slip is not None:
        status = "explained"
        reasons.append(f"typo: the printed value is off by a factor 10^{slip} (symscale {show(ours, printed, 1)})")
        notes.append(f"typo: the printed value is off by a factor 10^{slip}")
    if slip is None and math.isclose(double_rounded(ours, sig), paper, rel_tol=1e-9):
        status = "explained"
        reasons.append(f"rounding: {ours:.5g} printed with 4 significant figures ({round_half_up(ours, 4):.4g}, "
                       "as the authors' scripts print) and then rounded half-up gives the printed value")
        notes.append(ROUNDING_NOTE)
    for label, value in alternatives or []:
        if matches(value, paper, sig):
            status = "explained"
            reasons.append(f"matches with {label} ({show(value, printed, 1)})")
            notes.append(f"matches with {label}")
        else:
            reasons.append(f"{label} gives {show(value, printed, 1)}")
    if known:
        reasons.append(known)
        notes.append(known)
    return Check(source, item, printed, paper, ours, sig, rel, status, "; ".join(reasons), tuple(notes),
                 {label: value for label, value in alternatives or []})


def _read(name: str) -> list[dict]:
    return read_rows(name, ())


def _floats(rows: list[dict], key: str) -> np.ndarray:
    return np.array([float(row[key]) if row[key] else np.nan for row in rows])


def _chinchilla_loss(params: np.ndarray, coefficients) -> np.ndarray:
    from symscale.solvers.solve import chinchilla, loss_of

    model = chinchilla(params=params, coefficients=coefficients)
    return loss_of(model.params, model.tokens, coefficients)


# --- quantities ------------------------------------------------------------------------------
def _quantities(solution, objective: str) -> dict[str, np.ndarray]:
    """Every quantity a table cell or claim can name, from a compute or cost solution."""
    b, o, r = solution.baseline, solution.optimal, solution.ratio
    out = {f"{side}_{key}": getattr(model, key) for side, model in (("baseline", b), ("optimal", o))
           for key in ("params", "tokens", "total_flops")}
    out.update(ratio_tokens=r["tokens"], ratio_params=r["params"], saving_total_flops=1 - r["total_flops"],
               extra_total_flops=1 / r["total_flops"] - 1, saved_total_flops=b.total_flops * (1 - r["total_flops"]))
    if objective == "cost":
        out.update(baseline_total_cost=b.total_cost, optimal_total_cost=o.total_cost,
                   saving_total_cost=1 - r["total_cost"], extra_total_cost=1 / r["total_cost"] - 1,
                   requests=np.broadcast_to(solution.settings.requests, b.params.shape))
    return out


def _solve_compute(loss, tokens, coefficients) -> dict[str, np.ndarray]:
    from symscale.solvers.solve import solve_compute_optimal

    out = _quantities(solve_compute_optimal(loss, tokens, coefficients), "compute")
    out["loss"] = np.asarray(loss, float)
    return out


def paper_settings(requests, inference_price: float = STATED_INFERENCE_PRICE):
    """The cost settings of the paper's Figure 6 / Table 3 with the given inference price and demand."""
    from symscale.solvers.costs import CostSettings

    return CostSettings(**{**PAPER_COST_SETTINGS, "inference_gpu_cost": inference_price}, requests=requests)


def _solve_cost(loss, requests, coefficients, inference_price: float = STATED_INFERENCE_PRICE) -> dict:
    from symscale.solvers.costs import solve_cost_optimal

    settings = paper_settings(np.asarray(requests, float), inference_price)
    out = _quantities(solve_cost_optimal(loss, settings, coefficients), "cost")
    out["loss"] = np.asarray(loss, float)
    return out


def fitted_price(loss: float, requests: float, quantity: str, target: float, coefficients=None) -> float | None:
    """The inference GPU price ($/h) at which ``quantity`` equals ``target`` (bisection), None if outside $0.2-5."""
    def f(price: float) -> float:
        return float(_solve_cost(loss, requests, coefficients, price)[quantity]) - target

    lo, hi = 0.2, 5.0
    if f(lo) * f(hi) > 0:
        return None
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(lo) * f(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


# --- Table 2 ---------------------------------------------------------------------------------
def table2(coefficients=None) -> list[Check]:
    """Appendix B.1 Table 2 (compute objective), cell by cell, solved in one vectorised call."""
    rows = _read("paper_table2.csv")
    loss = _chinchilla_loss(_floats(rows, "chinchilla_params"), coefficients)
    demand = _floats(rows, "inference_tokens")
    ours = _solve_compute(loss, demand, coefficients)
    printed_loss = {row["row"]: parse_printed(r["printed"])[0] for row in rows for r in rows
                    if r["row"] == row["row"] and r["quantity"] == "loss"}
    rounded = _solve_compute(np.array([printed_loss[row["row"]] for row in rows]), demand, coefficients)
    checks = []
    for i, row in enumerate(rows):
        key, alternatives = row["quantity"], []
        if key == "saving_total_flops":
            alternatives = [(f"the printed (rounded) loss {printed_loss[row['row']]:g}", float(rounded[key][i])),
                            ("the ratio of the paper's own printed FLOPs columns",
                             _printed_saving(rows, row["row"], "total_flops"))]
        if key.endswith("total_flops") and not key.startswith("saving"):
            side = key.split("_")[0]
            alternatives = [("FLOPs from the printed params and tokens columns",
                             _printed_flops(rows, row["row"], side, float(demand[i])))]
        checks.append(_check(row["source"], _label(row), row["printed"], float(ours[key][i]), row["known_issue"],
                             alternatives))
    return checks


def _printed_saving(rows: list[dict], row: str, what: str) -> float:
    """1 - optimal/baseline from the paper's own printed (rounded) columns."""
    cells = {r["quantity"]: parse_printed(r["printed"])[0] for r in rows if r["row"] == row}
    return 1 - cells[f"optimal_{what}"] / cells[f"baseline_{what}"]


def _printed_flops(rows: list[dict], row: str, side: str, demand: float) -> float:
    """6 N D + 2 N D_inf from the paper's own printed (rounded) params and tokens of one row."""
    from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

    cells = {r["quantity"]: parse_printed(r["printed"])[0] for r in rows if r["row"] == row}
    params = float(rows[[r["row"] for r in rows].index(row)]["chinchilla_params"]) if side == "baseline" \
        else cells["optimal_params"]
    return params * (TRAIN_FLOPS_PER_PARAM_TOKEN * cells[f"{side}_tokens"] + INFERENCE_FLOPS_PER_PARAM_TOKEN * demand)


def _label(row: dict) -> str:
    return f"row {row['row']} ({_size(float(row['chinchilla_params']))} Chinchilla): {row['quantity']}"


def _size(params: float) -> str:
    return f"{params / 1e9:g}B"


# --- Table 3 ---------------------------------------------------------------------------------
def table3(coefficients=None) -> list[Check]:
    """Appendix B.2 Table 3 (cost objective, Figure 6 settings), cell by cell, at the stated prices.

    A cell that differs is also evaluated with inference at $1.00/GPU-hour (the price Table 3 is
    consistent with) and, where that does not settle it, with the price fitted to that cell.
    """
    rows = _read("paper_table3.csv")
    loss = _chinchilla_loss(_floats(rows, "chinchilla_params"), coefficients)
    requests = _floats(rows, "requests")
    ours = _solve_cost(loss, requests, coefficients)
    alt = _solve_cost(loss, requests, coefficients, TABLE3_INFERENCE_PRICE)
    checks = []
    for i, row in enumerate(rows):
        key = row["quantity"]
        alternatives = [] if key == "loss" else [(AT_TABLE3_PRICE, float(alt[key][i]))]
        check = _check(row["source"], _label(row), row["printed"], float(ours[key][i]), row["known_issue"],
                       alternatives)
        checks.append(_with_fitted_price(check, float(loss[i]), float(requests[i]), key, coefficients))
    return checks


def _with_fitted_price(check: Check, loss: float, requests: float, key: str, coefficients) -> Check:
    """Add, to a cost cell that no reading explains, the inference price that would reproduce it."""
    if check.status != "unexplained" or key == "loss" or "typo" in check.reason:
        return check
    price = fitted_price(loss, requests, key, check.paper, coefficients)
    if price is None:
        return check
    reason = f"{check.reason}; the printed value needs inference at ${price:.3f}/h"
    status = "explained" if abs(price - TABLE3_INFERENCE_PRICE) <= 0.03 else check.status
    note = (f"the printed value needs an inference price within $0.03/h of ${TABLE3_INFERENCE_PRICE:.2f}/h"
            if status == "explained" else "")
    return replace(check, status=status, reason=reason, notes=check.notes + ((note,) if note else ()),
                   readings={**check.readings, FITTED_PRICE: price})


# --- claims ----------------------------------------------------------------------------------
def claims(coefficients=None) -> list[Check]:
    """The quantitative statements of Sections 1, 2 and 6 and Figure 1 (data/paper_claims.csv)."""
    checks = []
    for row in _read("paper_claims.csv"):
        ours, alternatives = _claim_value(row, coefficients)
        check = _check(row["source"], f"{row['id']}: {row['statement']}", row["printed"], ours, row["known_issue"],
                       alternatives)
        if row["objective"] == "cost" and row["quantity"] not in ("requests", "mfu_ratio"):
            loss = float(_chinchilla_loss(float(row["chinchilla_params"]), coefficients))
            check = _with_fitted_price(check, loss, _claim_requests(row), row["quantity"], coefficients)
        checks.append(check)
    return checks


def _claim_requests(row: dict) -> float:
    """Lifetime requests of a cost claim: given, or demand tokens / (70 + 215) tokens per request."""
    if row["requests"]:
        return float(row["requests"])
    return float(row["inference_tokens"]) / (PAPER_COST_SETTINGS["input_tokens"] + PAPER_COST_SETTINGS["output_tokens"])


def _claim_value(row: dict, coefficients) -> tuple[float, list[tuple[str, float]]]:
    """symscale's value for one claim, and alternative readings for cost claims."""
    key = row["quantity"]
    if key == "mfu_ratio":
        return PAPER_COST_SETTINGS["train_mfu"] / PAPER_COST_SETTINGS["decode_mfu"], []
    loss = float(_chinchilla_loss(float(row["chinchilla_params"]), coefficients))
    if row["objective"] == "compute":
        return float(_solve_compute(loss, float(row["inference_tokens"]), coefficients)[key]), []
    requests = _claim_requests(row)
    ours = float(_solve_cost(loss, requests, coefficients)[key])
    if key == "requests":
        return ours, []
    alt = float(_solve_cost(loss, requests, coefficients, TABLE3_INFERENCE_PRICE)[key])
    return ours, [(AT_TABLE3_PRICE, alt)]


# --- Table 1 ---------------------------------------------------------------------------------
# Table 1 prints alpha, beta and E with two decimals and A, B with four significant figures.
TABLE1_DECIMALS = {"alpha": 2, "beta": 2, "E": 2}
TABLE1_SIG_FIGS = {"A": 4, "B": 4}


def table1(runs_path: str = "sardana-2024") -> list[Check]:
    """Section 5 Table 1: the Huber fit refitted on the 47 runs, coefficient by coefficient."""
    try:
        from symscale.solvers.fit import table1 as refit
    except ImportError as exc:  # pragma: no cover - depends on the fit module being installed
        raise InputError(f"the fit module is not available: {exc}") from None
    checks = []
    for row in refit(runs_path):
        label = "all runs" if row["cutoff"] is None else f"<= {row['cutoff']:g} tok/param"
        better = row["objective"] <= row["paper_objective"]
        for key, paper in row["paper"].items():
            printed = _table1_printed(key, paper)
            known = ("differs beyond the printed digits, but symscale's fit reaches a lower Huber objective "
                     f"({row['objective']:.4g}) than the printed coefficients ({row['paper_objective']:.4g}): the "
                     "difference lies in the fit (optimiser, start grid, rounding of the printed values), and "
                     "A, B, E trade off against each other along a flat valley") if better else ""
            check = _check("Table 1 (Section 5)", f"{label}: {key}", printed, float(row["fit"][key]), known)
            if check.status != "match" and better:
                objectives = (f"{label}: symscale's Huber objective {row['objective']:.4g}, the printed "
                              f"coefficients' {row['paper_objective']:.4g}")
                check = replace(check, status="explained", notes=(FIT_NOTE, objectives))
            checks.append(check)
    return checks


def _table1_printed(key: str, value: float) -> str:
    """A Table 1 coefficient as the paper prints it."""
    if key in TABLE1_DECIMALS:
        return f"{value:.{TABLE1_DECIMALS[key]}f}"
    digits = TABLE1_SIG_FIGS[key] - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{max(digits, 0)}f}"


# --- summary ---------------------------------------------------------------------------------
def summary(checks: list[Check]) -> dict[str, int]:
    """How many checks match, differ with a cause, differ without one."""
    out = {"match": 0, "explained": 0, "unexplained": 0}
    for check in checks:
        out[check.status] += 1
    return out
