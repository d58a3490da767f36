"""Out-of-sample checks of a law fit: fit on the smaller runs, predict the held-out larger ones.

``holdout`` fits on the runs below a size (or a tokens-per-parameter ratio) and compares each held-out run's
observed loss with the prediction (relative error (predicted - observed)/observed, and with a bootstrap the
95 % percentile interval of the prediction over the refitted replicates). ``rollout`` repeats it over the
distinct model sizes: fit on the sizes below each size, predict that size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from symscale.base.errors import InputError
from symscale.base.runs import N_PARAMS, Runs, check_identifiable


@dataclass(frozen=True)
class Fitter:
    """How to fit one law to runs: a function runs -> (values, samples or None)."""

    law: object
    fit: Callable[[Runs, int, int | None], tuple[dict, dict | None]]


@lru_cache(maxsize=16)
def _evaluator(law):
    import sympy as sp

    symbols = [sp.Symbol("N", positive=True), sp.Symbol("D", positive=True)]
    symbols += [sp.Symbol(name, positive=True) for name in law.names]
    expr = law.expr.xreplace({s: sp.Symbol(s.name, positive=True) for s in law.expr.free_symbols})
    return sp.lambdify(symbols, expr, modules="numpy")


def predict(law, values: dict, params, tokens) -> np.ndarray:
    """The law's loss at (params, tokens); ``values`` may hold arrays (bootstrap samples) broadcast on a new axis."""
    f = _evaluator(law)
    args = [np.asarray(values[name], dtype=float)[..., None] for name in law.names]
    with np.errstate(all="ignore"):
        return np.asarray(f(np.asarray(params, float), np.asarray(tokens, float), *args), dtype=float)


def _check_training(runs: Runs, law, what: str) -> None:
    needed = max(N_PARAMS, len(law.names) + 1)
    if len(runs) < needed:
        raise InputError(f"{what} leaves {len(runs)} runs to fit; the law {law.name} needs at least {needed}")
    try:
        check_identifiable(runs)
    except InputError as exc:
        raise InputError(f"{what}: the runs left to fit cannot determine the law ({exc})") from None


def holdout(fitter: Fitter, runs: Runs, held: np.ndarray, n_boot: int = 0, seed: int | None = None,
            what: str = "the holdout") -> dict:
    """Fit on ``runs[~held]`` and predict ``runs[held]``: per-run predictions, relative errors and a summary."""
    held = np.asarray(held, dtype=bool)
    if not held.any():
        raise InputError(f"{what} holds out no run; lower the threshold")
    train = runs.subset(~held)
    _check_training(train, fitter.law, what)
    values, samples = fitter.fit(train, n_boot, seed)
    test = runs.subset(held)
    predicted = predict(fitter.law, values, test.params, test.tokens).reshape(-1)
    rel = (predicted - test.loss) / test.loss
    rows = [{"params": float(n), "tokens": float(d), "tokens_per_param": float(d / n), "observed": float(o),
             "predicted": float(p), "relative_error": float(e), "line": int(line)}
            for n, d, o, p, e, line in zip(test.params, test.tokens, test.loss, predicted, rel, test.lines)]
    summary = {"n_train": len(train), "n_held_out": len(test), "mean_abs_relative_error": float(np.mean(np.abs(rel))),
               "max_abs_relative_error": float(np.max(np.abs(rel))), "coefficients": values}
    if samples is not None:
        draws = predict(fitter.law, samples, test.params, test.tokens)
        inside = 0
        for row, column in zip(rows, draws.T):
            column = column[np.isfinite(column)]
            low, high = (float(q) for q in np.percentile(column, [2.5, 97.5]))
            row["prediction_ci95"] = [low, high]
            row["inside_ci95"] = bool(low <= row["observed"] <= high)
            inside += row["inside_ci95"]
        summary["n_inside_ci95"] = inside
        summary["interval"] = (f"95 % percentile interval of the prediction over {draws.shape[0]} bootstrap refits "
                               "of the training runs (uncertainty of the fitted law, not run-to-run noise)")
    return {"runs": rows, "summary": summary}


def rollout(fitter: Fitter, runs: Runs, n_boot: int = 0, seed: int | None = None) -> list[dict]:
    """For each distinct model size that leaves enough smaller runs to fit: fit below it, predict it."""
    rows = []
    for size in np.unique(runs.params):
        below = runs.params < size
        try:
            _check_training(runs.subset(below), fitter.law, f"size {size:.4g}")
        except InputError:
            continue
        result = holdout(fitter, runs.subset(below | (runs.params == size)),
                         runs.subset(below | (runs.params == size)).params == size, n_boot, seed, f"size {size:.4g}")
        rows.append({"params": float(size), **result["summary"], "runs": result["runs"]})
    if not rows:
        raise InputError("--rollout: no model size has enough smaller runs below it to fit the law")
    return rows
