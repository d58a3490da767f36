"""Sweep rows solved by the data-limited solver: a law in U (muennighoff-2023) or hard limits on any law.

:func:`symscale.solvers.data_limited.solve_limited_many` scans each loss's iso-loss curve once (its kinks and
regimes) and brackets and refines the stationary points of all the demands of that loss together, so a row
costs about a millisecond and a new loss some tens of milliseconds (the fast path of laws without limits:
nanoseconds a row). The training-optimal baseline is solved once per loss. :func:`estimate_seconds` times a
few rows so the CLI can refuse grids that would take too long.
"""

from __future__ import annotations

import time

import numpy as np

from symscale.base.errors import InputError


def limited_columns(loss: np.ndarray, inference_tokens: np.ndarray, weights: tuple, coefficients, limits,
                    models) -> dict[str, np.ndarray]:
    """baseline_*, optimal_*, the limit columns and ratio_* of rows (loss, demand) with their (k_train, k_inf).

    ``models(params, tokens)`` gives the model object whose attributes are the table's model keys
    (a ComputeModel or a CostModel at these rows' demand); ``limits`` is a Limits (None: no limits).
    """
    from symscale.laws.limits import Limits
    from symscale.solvers.data_limited import UNLIMITED, effective, has_unique_tokens

    law, values = coefficients.law, dict(coefficients.values)
    limits = Limits() if limits is None else limits
    given = any(v is not None for v in (limits.unique_tokens, limits.max_epochs, limits.max_params))
    k_train, k_inf = (np.broadcast_to(np.asarray(w, float), loss.shape) for w in weights)
    rows = loss.size
    out = {k: np.empty(rows) for k in ("bp", "bd", "p", "d", "obj", "regime", "kink", "fp", "fd", "fobj")}
    mu = {"max_tokens": np.zeros(rows), "max_params": np.zeros(rows)}
    active = {"max_tokens": np.zeros(rows), "max_params": np.zeros(rows)}
    for target in np.unique(loss):
        at = np.flatnonzero(loss == target)
        where = (float(target), float(inference_tokens[at[0]]))
        (base,) = _solve(law, values, where, k_train[at[:1]], np.zeros(1), Limits())
        out["bp"][at], out["bd"][at] = base.params, base.tokens
        optima = _solve(law, values, where, k_train[at], k_inf[at], limits)
        free = _solve(law, values, where, k_train[at], k_inf[at], Limits()) if given else optima
        for i, opt, unlimited in zip(at, optima, free):
            out["p"][i], out["d"][i], out["obj"][i] = opt.params, opt.tokens, opt.objective
            out["regime"][i], out["kink"][i] = opt.regime, opt.where == "kink"
            for c in opt.constraints:
                mu[c.name][i], active[c.name][i] = c.multiplier, c.active
            out["fp"][i], out["fd"][i], out["fobj"][i] = unlimited.params, unlimited.tokens, unlimited.objective
    baseline, optimal = models(out["bp"], out["bd"]), models(out["p"], out["d"])
    return _columns(baseline, optimal, out, mu, active, law, values, limits, given,
                    UNLIMITED if limits.unique_tokens is None else limits.unique_tokens, effective,
                    has_unique_tokens(law))


def _solve(law, values, where: tuple[float, float], k_train, k_inf, limits) -> list:
    """solve_limited_many at one loss; an unreachable loss is one InputError naming the row."""
    from symscale.solvers.data_limited import solve_limited_many

    try:
        return solve_limited_many(law, values, where[0], k_train, k_inf, limits)
    except InputError as exc:
        raise InputError(f"sweep row with loss {where[0]:g} and {where[1]:g} inference tokens: {exc}") from None


def _columns(baseline, optimal, out, mu, active, law, values, limits, given, unique, effective, in_u) -> dict:
    from symscale.scenarios.sweep import MODEL_KEYS

    keys = MODEL_KEYS + tuple(k for k in ("train_cost", "prefill_cost", "decode_cost", "inference_cost",
                                          "total_cost") if hasattr(optimal, k))
    columns: dict[str, np.ndarray] = {}
    if limits.unique_tokens is not None:
        columns["unique_tokens"] = np.full(out["p"].shape, float(limits.unique_tokens))
    for side, model in (("baseline", baseline), ("optimal", optimal)):
        for key in keys:
            columns[f"{side}_{key}"] = np.asarray(getattr(model, key), dtype=float).ravel()
    if limits.unique_tokens is not None:
        columns["optimal_epochs"] = out["d"] / limits.unique_tokens
    if in_u:
        pieces = effective(law, values, out["p"], out["d"], unique)
        columns["optimal_effective_tokens"] = np.asarray(pieces["D_eff"], dtype=float)
        columns["optimal_effective_params"] = np.asarray(pieces["N_eff"], dtype=float)
    columns["optimal_regime"] = out["regime"]
    columns["optimal_at_kink"] = out["kink"].astype(float)
    for name in ("max_tokens", "max_params"):
        if (limits.max_tokens if name == "max_tokens" else limits.max_params) is not None:
            columns[f"{name}_active"] = active[name]
            columns[f"{name}_multiplier"] = mu[name]
    if given:
        total = "total_cost" if "total_cost" in keys else "total_flops"
        repeats = (np.zeros(out["p"].shape, bool) if not (in_u and limits.unique_tokens is not None)
                   else out["fd"] > limits.unique_tokens * (1 + 1e-12))
        columns["limit_binds"] = (repeats | (active["max_tokens"] > 0) | (active["max_params"] > 0)).astype(float)
        columns["unlimited_params"], columns["unlimited_tokens"] = out["fp"], out["fd"]
        columns[f"unlimited_{total}"] = out["fobj"]
        columns["ratio_limit"] = out["obj"] / out["fobj"]
    for key in ("params", "tokens", "total_flops") + (("total_cost",) if "total_cost" in keys else ()):
        columns[f"ratio_{key}"] = columns[f"optimal_{key}"] / columns[f"baseline_{key}"]
    return columns


def estimate_seconds(grid, sample: int = 32) -> float:
    """CPU seconds to solve the whole grid (a busy machine does not inflate it), from a few timed calls: one row
    and ``sample`` rows of the first loss (a row's cost, and a loss's fixed cost once its curve is scanned), and
    the first row of another loss (the scan of a new loss's curve)."""
    from symscale.scenarios.sweep import grid_rows

    per_loss = grid.demand.size
    grid_rows(grid, 0, 1)                          # builds the law's regimes and kernels, and loss 0's curve
    one = _timed(grid_rows, grid, 0, 1)
    rows = min(sample, per_loss)
    per_row = max(_timed(grid_rows, grid, 0, rows) - one, 0.0) / (rows - 1) if rows > 1 else one
    fixed = max(one - per_row, 0.0)
    new_curve = 0.0
    if grid.quality.size > 1:
        start = (grid.quality.size - 1) * per_loss
        new_curve = max(_timed(grid_rows, grid, start, start + 1) - one, 0.0)
    return per_row * grid.rows + (fixed + new_curve) * grid.quality.size


def _timed(fn, *args) -> float:
    began = time.process_time()
    fn(*args)
    return time.process_time() - began
