"""Fit the Chinchilla law to training runs (paper Eq. 4): multistart Newton, lmfit polish, uncertainty.

The objective is sum_i Huber_delta(LSE(a - alpha ln N_i, b - beta ln D_i, e) - ln L_i) with
A, B, E = exp(a), exp(b), exp(e). Residuals and their derivatives come from the generated kernels
in ``fit_kernels.py`` (built by ``fit_symbolic.py``), so this module never imports sympy.

Search: Chinchilla's 4,500-point start grid is run all at once by a batched, damped Newton method
in numpy (exact gradient and generalised Hessian, eigenvalues made positive, Armijo backtracking),
then the best point is polished with lmfit (scipy least_squares with a Huber loss, which is
exactly this objective). Bootstrap refits are the same batched Newton over resampling weights.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import fit_kernels as K
from .coefficients import NAMES, Coefficients
from .errors import InputError

#: Parameter order used throughout: A = exp(a), B = exp(b), E = exp(e).
THETA = ("a", "b", "e", "alpha", "beta")
DELTA = 1e-3
N_PARAMS = 5

#: Sardana et al. 2024, Table 1 (alpha, beta, A, B, E), keyed by tokens/param cutoff (None = all runs).
PAPER_TABLE1: dict[float | None, dict[str, float]] = {
    100: {"alpha": 0.08, "beta": 0.13, "A": 7.199, "B": 25.97, "E": 0.17},
    250: {"alpha": 0.13, "beta": 0.16, "A": 14.23, "B": 39.54, "E": 0.98},
    500: {"alpha": 0.13, "beta": 0.16, "A": 17.07, "B": 35.80, "E": 0.95},
    None: {"alpha": 0.18, "beta": 0.24, "A": 33.66, "B": 138.9, "E": 1.45},
}


class FitError(RuntimeError):
    """The optimisation did not reach a usable optimum (the CLI exits with status 1)."""


# ----------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Runs:
    """Training runs to fit: parameters N, tokens D, final loss L, and their CSV line numbers."""

    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    lines: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.loss)

    def logs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ln N, ln D, ln L): the data the kernels take."""
        return np.log(self.params), np.log(self.tokens), np.log(self.loss)

    def subset(self, keep: np.ndarray) -> Runs:
        """The runs selected by a boolean mask or index array."""
        return Runs(self.params[keep], self.tokens[keep], self.loss[keep], self.lines[keep], self.source)


def _rows(lines: np.ndarray, limit: int = 8) -> str:
    """'rows 3, 7, 9' for messages (CSV line numbers, header = line 1)."""
    shown = ", ".join(str(int(n)) for n in lines[:limit])
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"row{'s' if len(lines) > 1 else ''} {shown}{more}"


def _column(frame, name: str, lines: np.ndarray) -> np.ndarray:
    """One numeric, finite, positive column, or an InputError naming the bad rows."""
    import pandas as pd

    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"column {name!r} has missing or non-numeric values at {_rows(lines[bad])}")
    bad = values <= 0
    if bad.any():
        raise InputError(f"column {name!r} must be > 0 but is not at {_rows(lines[bad])}")
    return values


def load_runs(
    path: str | Path,
    params_col: str = "Parameters",
    tokens_col: str = "Tokens",
    loss_col: str = "Smoothed Loss",
    flops_col: str | None = None,
    cutoff: float | None = None,
    exclude_highest_loss: int = 0,
) -> Runs:
    """Read runs from a CSV; with ``flops_col`` tokens are FLOPs/(6N); filter by tokens/param and loss."""
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"runs file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"runs file {str(path)!r} is not a readable CSV: {str(exc).strip()}") from None
    wanted = [params_col, flops_col if flops_col else tokens_col, loss_col]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise InputError(
            f"runs file {str(path)!r} lacks column(s) {', '.join(map(repr, missing))}; columns found: {found}"
        )
    lines = np.arange(len(frame)) + 2
    params = _column(frame, params_col, lines)
    if flops_col:
        tokens = _column(frame, flops_col, lines) / (6.0 * params)
    else:
        tokens = _column(frame, tokens_col, lines)
    runs = Runs(params, tokens, _column(frame, loss_col, lines), lines, str(path))
    return select_runs(runs, cutoff, exclude_highest_loss)


def select_runs(runs: Runs, cutoff: float | None = None, exclude_highest_loss: int = 0) -> Runs:
    """Keep runs with tokens/param <= cutoff, drop the K highest-loss runs, and check enough remain."""
    if cutoff is not None:
        runs = runs.subset(runs.tokens / runs.params <= cutoff * (1 + 1e-12))
    if exclude_highest_loss < 0:
        raise InputError(f"--exclude-highest-loss must be >= 0, got {exclude_highest_loss}")
    if exclude_highest_loss:
        order = np.argsort(runs.loss, kind="stable")
        runs = runs.subset(np.sort(order[: max(len(order) - exclude_highest_loss, 0)]))
    if len(runs) < N_PARAMS:
        raise InputError(
            f"only {len(runs)} run(s) left to fit (after filtering); the law has {N_PARAMS} parameters "
            f"and needs at least {N_PARAMS} runs"
        )
    return runs


# ----------------------------------------------------------------------------- objective


def _columns(theta: np.ndarray) -> list[np.ndarray]:
    """theta (S, 5) -> five (S, 1) columns that broadcast against per-run arrays."""
    return [theta[:, k : k + 1] for k in range(N_PARAMS)]


def objective(
    theta: np.ndarray, runs: Runs, delta: float = DELTA, weights: np.ndarray | None = None
) -> np.ndarray:
    """Huber objective of Eq. 4 at one point (5,) or many points (S, 5); optional per-run weights."""
    theta = np.asarray(theta, dtype=float)
    single = theta.ndim == 1
    values = _objective(np.atleast_2d(theta), *runs.logs(), _weights(weights, len(runs)), delta)
    return values[0] if single else values


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    """Per-run weights as an array broadcastable to (S, n)."""
    return np.ones(n) if weights is None else np.asarray(weights, dtype=float)


def _objective(theta: np.ndarray, x, y, z, w, delta: float) -> np.ndarray:
    """Batched objective (S,)."""
    r = K.residual(*_columns(theta), x, y, z)
    return np.sum(w * K.huber(r, delta), axis=-1)


_UPPER = [(i, j) for i in range(N_PARAMS) for j in range(i, N_PARAMS)]


@dataclass
class _Local:
    """Objective, gradient and curvature matrices of a batch of points."""

    f: np.ndarray
    g: np.ndarray
    h_exact: np.ndarray | None
    h_irls: np.ndarray


def _irls_weight(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber'(r)/r: 1 inside the band, delta/|r| outside (the curvature of Huber's quadratic majoriser)."""
    return K.huber_d1(r, delta) / np.where(r == 0, 1.0, r)


def _derivatives(theta: np.ndarray, x, y, z, w, delta: float, second_order: bool = True) -> _Local:
    """Batched objective (S,), gradient (S, 5) and curvature (S, 5, 5) of the Huber objective.

    h_exact is the generalised Hessian (Huber'' = 1 inside |r| <= delta, 0 outside); h_irls replaces
    Huber'' by Huber'(r)/r, the Hessian of the majoriser sum_i Huber'(r_i)/r_i * r_i^2/2, which stays
    well conditioned far from the optimum. Without second_order the psi * d2r terms are left out
    (plain Gauss-Newton / IRLS, about 3 times cheaper) and h_exact is None.
    """
    out = (K.residual_hessian if second_order else K.residual_gradient)(*_columns(theta), x, y, z)
    r = out[0]
    grad_r = np.stack([np.broadcast_to(g, r.shape) for g in out[1:6]], axis=-1)
    psi = w * K.huber_d1(r, delta)
    f = np.sum(w * K.huber(r, delta), axis=-1)
    g = np.einsum("sn,snk->sk", psi, grad_r)
    grad_t = np.swapaxes(grad_r, 1, 2)
    h_irls = np.matmul(grad_t * (w * _irls_weight(r, delta))[:, None, :], grad_r)
    if not second_order:
        return _Local(f, g, None, h_irls)
    h_exact = np.matmul(grad_t * (w * K.huber_d2(r, delta))[:, None, :], grad_r)
    second = np.zeros_like(h_exact)
    for (i, j), h_r in zip(_UPPER, out[6:]):
        second[:, i, j] = second[:, j, i] = np.sum(psi * h_r, axis=-1)
    return _Local(f, g, h_exact + second, h_irls + second)


def gradient_hessian(
    theta: np.ndarray, runs: Runs, delta: float = DELTA
) -> tuple[float, np.ndarray, np.ndarray]:
    """Objective, exact gradient (5,) and generalised Hessian (5, 5) at one point."""
    loc = _derivatives(np.atleast_2d(np.asarray(theta, float)), *runs.logs(), np.ones(len(runs)), delta)
    return float(loc.f[0]), loc.g[0], loc.h_exact[0]


# ----------------------------------------------------------------------------- batched Newton


@dataclass
class NewtonResult:
    """Final points, objectives, Newton decrements and iteration counts of a batched Newton run."""

    theta: np.ndarray
    objective: np.ndarray
    decrement: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _eigen(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of batched Hessians: |eigenvalues| floored at 1e-13 * max, vectors, and max."""
    lam, vec = np.linalg.eigh(h)
    size = np.abs(lam)
    top = np.max(size, axis=-1, keepdims=True) + 1e-300
    return np.maximum(size, 1e-13 * top), vec, top


def _damped_step(
    g: np.ndarray, size: np.ndarray, vec: np.ndarray, top: np.ndarray, nu: np.ndarray
) -> np.ndarray:
    """Saddle-free Newton step -V diag(1/(|lambda| + nu * max|lambda|)) V^T g (nu = 0: plain Newton)."""
    coords = np.einsum("skl,sk->sl", vec, g) / (size + nu[:, None] * top)
    return -np.einsum("skl,sl->sk", vec, coords)


def _newton_direction(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Undamped saddle-free Newton step for batched gradients and Hessians."""
    size, vec, top = _eigen(h)
    return _damped_step(g, size, vec, top, np.zeros(len(g)))


def batched_newton(
    theta0: np.ndarray,
    runs: Runs,
    delta: float = DELTA,
    weights: np.ndarray | None = None,
    max_iter: int = 300,
    rtol: float = 1e-15,
    exact: bool = True,
) -> NewtonResult:
    """Minimise the objective from many starts at once (rows of theta0), optionally with per-start weights.

    Each iteration first tries the full Newton step with the generalised Hessian (fast final
    convergence); if that fails the Armijo test it falls back to the IRLS-majoriser step, damped
    Levenberg-Marquardt style with a per-start damping that adapts (/10 after success, x10 on failure).
    With exact=False only cheap Gauss-Newton/IRLS steps are taken (used to screen starts).
    A start stops when the Newton decrement falls below rtol * objective, or when no step lowers the
    objective any more (the floating-point optimum).
    """
    x, y, z = runs.logs()
    theta = np.array(theta0, dtype=float, copy=True)
    count = len(theta)
    w_all = np.broadcast_to(_weights(weights, len(runs)), (count, len(runs)))
    state = {"f": np.full(count, np.inf), "dec": np.full(count, np.inf), "nu": np.full(count, 1e-8)}
    iters = np.zeros(count, dtype=int)
    converged = np.zeros(count, dtype=bool)
    active = np.arange(count)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(max_iter):
            if active.size == 0:
                break
            done, stalled = _newton_iteration(
                theta, active, state, x, y, z, w_all[active], delta, rtol, exact
            )
            iters[active[~done]] += 1
            converged[active[done | stalled]] = np.isfinite(state["dec"][active[done | stalled]])
            active = active[~(done | stalled)]
    return NewtonResult(theta, state["f"], state["dec"], iters, converged)


def _newton_iteration(theta, active, state, x, y, z, w, delta, rtol, exact) -> tuple[np.ndarray, np.ndarray]:
    """One iteration for the active starts; returns (converged before stepping, no step possible)."""
    loc = _derivatives(theta[active], x, y, z, w, delta, second_order=exact)
    main = _eigen(loc.h_exact if exact else loc.h_irls)
    newton = _damped_step(loc.g, *main, np.zeros(len(active)))
    dec = -np.einsum("sk,sk->s", loc.g, newton)
    state["f"][active], state["dec"][active] = loc.f, dec
    done = (dec <= rtol * np.abs(loc.f)) | ~np.isfinite(dec)
    todo = np.flatnonzero(~done)
    moved = np.zeros(len(active), dtype=bool)
    if exact:
        for t in 0.5 ** np.arange(6):
            left = todo[~moved[todo]]
            moved[left] = _try_step(
                theta,
                active[left],
                t * newton[left],
                loc.g[left],
                loc.f[left],
                x,
                y,
                z,
                w[left],
                delta,
                state["f"],
            )
    rest = todo[~moved[todo]]
    if rest.size:
        fallback = _eigen(loc.h_irls[rest]) if exact else tuple(part[rest] for part in main)
        moved[rest] = _damped_search(
            theta,
            active[rest],
            loc.g[rest],
            *fallback,
            loc.f[rest],
            state["nu"],
            x,
            y,
            z,
            w[rest],
            delta,
            state["f"],
        )
    stalled = ~done & ~moved
    return done, stalled


def _try_step(theta, idx, step, g, f, x, y, z, w, delta, fval) -> np.ndarray:
    """Take the given steps where they pass the Armijo test; returns which did."""
    trial = theta[idx] + step
    f_new = _objective(trial, x, y, z, w, delta)
    ok = np.isfinite(f_new) & (f_new <= f + 1e-4 * np.einsum("sk,sk->s", g, step)) & (f_new < f)
    theta[idx[ok]] = trial[ok]
    fval[idx[ok]] = f_new[ok]
    return ok


def _damped_search(
    theta, idx, g, size, vec, top, f, nu, x, y, z, w, delta, fval, tries: int = 24
) -> np.ndarray:
    """Raise each start's damping until a step passes the Armijo test; update theta/fval/nu in place."""
    accepted = np.zeros(len(idx), dtype=bool)
    pending = np.arange(len(idx))
    damp = nu[idx].copy()
    for _ in range(tries):
        if pending.size == 0:
            break
        step = _damped_step(g[pending], size[pending], vec[pending], top[pending], damp[pending])
        ok = _try_step(theta, idx[pending], step, g[pending], f[pending], x, y, z, w[pending], delta, fval)
        accepted[pending[ok]] = True
        pending = pending[~ok]
        damp[pending] = np.maximum(damp[pending] * 10.0, 1e-12)
    nu[idx] = np.where(accepted, damp / 10.0, damp)
    return accepted


# ----------------------------------------------------------------------------- multistart


def chinchilla_grid() -> np.ndarray:
    """Chinchilla's 4,500 starts (a, b, e, alpha, beta): a, b in 0..25 step 5, e in -1..1, exponents 0..2."""
    a = np.arange(0.0, 26.0, 5.0)
    e = np.arange(-1.0, 1.01, 0.5)
    expo = np.arange(0.0, 2.01, 0.5)
    mesh = np.meshgrid(a, a, e, expo, expo, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


@dataclass
class MultiStart:
    """Outcome of the multistart search: best point and how many starts reached its basin."""

    theta: np.ndarray
    objective: float
    n_starts: int
    n_refined: int
    n_best_basin: int
    n_converged: int
    newton: NewtonResult = field(repr=False)

    def describe(self) -> str:
        """One line on the search, for the report."""
        pruned = self.n_starts - self.n_refined
        how = f"{pruned} pruned after cheap IRLS screening, " if pruned else ""
        return (
            f"{self.n_starts} starts ({how}{self.n_refined} refined by Newton); "
            f"{self.n_best_basin} of the {self.n_refined} refined reached the best basin"
        )


def same_basin(newton: NewtonResult, best: np.ndarray, f_best: float) -> np.ndarray:
    """Starts that ended at the best point: objective within 1e-9 relative and parameters within 1e-4."""
    close_f = newton.objective <= f_best * (1 + 1e-9) + 1e-300
    scale = 1.0 + np.abs(best)
    close_x = np.max(np.abs(newton.theta - best) / scale, axis=-1) <= 1e-4
    return close_f & close_x


#: Screening schedule: (Gauss-Newton/IRLS iterations, starts kept afterwards) per stage.
SCREEN = ((2, 1000), (3, 64))


def screen(starts: np.ndarray, runs: Runs, delta: float = DELTA, schedule=SCREEN) -> np.ndarray:
    """Successive halving: a few cheap IRLS iterations for all starts, keep the lowest objectives, repeat."""
    theta = starts
    for iterations, keep in schedule:
        if len(theta) <= keep:
            continue
        result = batched_newton(theta, runs, delta, max_iter=iterations, exact=False)
        order = np.argsort(np.where(np.isfinite(result.objective), result.objective, np.inf), kind="stable")
        theta = result.theta[order[:keep]]
    return theta


def multistart(
    runs: Runs,
    delta: float = DELTA,
    starts: np.ndarray | None = None,
    schedule=SCREEN,
    max_iter: int = 300,
) -> MultiStart:
    """Screen the starts (default: Chinchilla's grid), run Newton to convergence on survivors, keep the best.

    ``schedule=()`` refines every start (slow, but counts exactly how many of them reach the best basin).
    """
    starts = chinchilla_grid() if starts is None else np.asarray(starts, dtype=float)
    survivors = screen(starts, runs, delta, schedule)
    newton = batched_newton(survivors, runs, delta, max_iter=max_iter)
    finite = np.isfinite(newton.objective)
    if not finite.any():
        raise FitError("no start reached a finite objective")
    best = int(np.argmin(np.where(finite, newton.objective, np.inf)))
    theta, f_best = newton.theta[best].copy(), float(newton.objective[best])
    basin = same_basin(newton, theta, f_best)
    return MultiStart(
        theta, f_best, len(starts), len(survivors), int(basin.sum()), int(newton.converged.sum()), newton
    )


# ----------------------------------------------------------------------------- lmfit polish


def _lmfit_params(theta: np.ndarray):
    """lmfit Parameters a, b, e, alpha, beta; exponents bounded to [0, 10] (the law needs them positive)."""
    import lmfit

    params = lmfit.Parameters()
    for name, value in zip(THETA, theta):
        bounded = name in ("alpha", "beta")
        params.add(name, value=float(value), min=0.0 if bounded else -np.inf, max=10.0 if bounded else np.inf)
    return params


def polish(theta: np.ndarray, runs: Runs, delta: float = DELTA):
    """Refine a point with lmfit (least_squares, Huber loss with f_scale = delta: exactly Eq. 4)."""
    import lmfit

    x, y, z = runs.logs()

    def values(params) -> list[float]:
        return [params[name].value for name in THETA]

    def resid(params) -> np.ndarray:
        return K.residual(*values(params), x, y, z)

    def jac(params) -> np.ndarray:
        grads = K.residual_gradient(*values(params), x, y, z)[1:]
        return np.stack([np.broadcast_to(g, x.shape) for g in grads], axis=-1)

    start = np.clip(theta, [-np.inf, -np.inf, -np.inf, 0.0, 0.0], [np.inf, np.inf, np.inf, 10.0, 10.0])
    minimizer = lmfit.Minimizer(resid, _lmfit_params(start))
    return minimizer.minimize(
        method="least_squares",
        Dfun=jac,
        loss="huber",
        f_scale=delta,
        x_scale="jac",
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
        max_nfev=2000,
    )


# ----------------------------------------------------------------------------- accuracy check


@dataclass
class Reference:
    """A tight reference optimisation in long double, started from the reported optimum."""

    theta: np.ndarray
    objective: float
    objective_gap: float
    max_param_diff: float
    gradient_norm: float

    def summary(self) -> dict:
        """JSON-ready summary."""
        return {
            "objective_gap_relative": self.objective_gap,
            "max_param_diff_relative": self.max_param_diff,
            "reference_gradient_norm": self.gradient_norm,
            "method": "Newton in numpy long double from the optimum",
        }


def reference_optimum(theta: np.ndarray, runs: Runs, delta: float = DELTA, iterations: int = 60) -> Reference:
    """Polish ``theta`` by Newton with objective and gradient in long double; how far was theta from it?"""
    ld = np.longdouble
    x, y, z = (np.asarray(v, dtype=ld) for v in runs.logs())
    w = np.ones(len(runs), dtype=ld)

    def local(point: np.ndarray) -> _Local:
        return _derivatives(point[None, :], x, y, z, w, ld(delta))

    start = np.asarray(theta, dtype=ld)
    point = start.copy()
    for _ in range(iterations):
        loc = local(point)
        step = _newton_direction(loc.g.astype(float), loc.h_exact.astype(float))[0].astype(ld)
        for t in 0.5 ** np.arange(30):
            trial = point + ld(t) * step
            if _objective(trial[None, :], x, y, z, w, ld(delta))[0] < loc.f[0]:
                point = trial
                break
        else:
            break
    f_ref = _objective(point[None, :], x, y, z, w, ld(delta))[0]
    f_ours = _objective(start[None, :], x, y, z, w, ld(delta))[0]
    diff = np.max(np.abs(start - point) / (1 + np.abs(point)))
    return Reference(
        point.astype(float),
        float(f_ref),
        float((f_ours - f_ref) / f_ref),
        float(diff),
        float(np.linalg.norm(local(point).g[0])),
    )


# ----------------------------------------------------------------------------- uncertainty


def sandwich_covariance(theta: np.ndarray, runs: Runs, delta: float = DELTA) -> np.ndarray | None:
    """M-estimator covariance of (a, b, e, alpha, beta): H^-1 (sum psi_i^2 g_i g_i^T) H^-1 * n/(n-5).

    H is the objective's exact (generalised) Hessian and psi = Huber'(r); valid for the Huber objective
    without assuming Gaussian errors. None when H is not positive definite.
    """
    x, y, z = runs.logs()
    _, _, h = gradient_hessian(theta, runs, delta)
    out = K.residual_gradient(*theta, x, y, z)
    grads = np.stack([np.broadcast_to(g, x.shape) for g in out[1:]], axis=-1)
    psi = K.huber_d1(out[0], delta)
    meat = np.einsum("n,nk,nl->kl", psi**2, grads, grads) * len(runs) / max(len(runs) - N_PARAMS, 1)
    if np.any(np.linalg.eigvalsh(h) <= 0):
        return None
    bread = np.linalg.inv(h)
    return bread @ meat @ bread


def coefficient_stderr(theta: np.ndarray, cov: np.ndarray | None) -> dict[str, float | None]:
    """Standard errors of alpha, beta, A, B, E from a covariance of theta (delta method: se(A) = A se(a))."""
    if cov is None:
        return {key: None for key in NAMES}
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    a, b, e, _, _ = theta
    return {
        "alpha": float(se[3]),
        "beta": float(se[4]),
        "A": float(math.exp(a) * se[0]),
        "B": float(math.exp(b) * se[1]),
        "E": float(math.exp(e) * se[2]),
    }


def correlations(cov: np.ndarray | None) -> dict[str, dict[str, float]] | None:
    """Correlation matrix of (a, b, e, alpha, beta) as nested dicts."""
    if cov is None:
        return None
    se = np.sqrt(np.diag(cov))
    corr = cov / np.outer(se, se)
    return {p: {q: float(corr[i, j]) for j, q in enumerate(THETA)} for i, p in enumerate(THETA)}


# ----------------------------------------------------------------------------- the fit


@dataclass
class FitResult:
    """Everything ``symscale fit`` reports."""

    coefficients: Coefficients
    theta: np.ndarray
    objective: float
    n_runs: int
    residuals: np.ndarray
    gradient_norm: float
    newton_decrement: float
    multistart: MultiStart = field(repr=False)
    stderr: dict[str, float | None] = field(default_factory=dict)
    correlations: dict | None = None
    lmfit_stderr: dict[str, float | None] = field(default_factory=dict)
    lmfit_correlations: dict | None = None
    polish_improved: bool = False
    delta: float = DELTA
    seconds: float = 0.0

    def summary(self) -> dict:
        """The JSON-ready core of the result."""
        res = self.residuals
        return {
            "coefficients": self.coefficients.as_dict(),
            "stderr": self.stderr,
            "stderr_method": STDERR_METHOD,
            "correlations": self.correlations,
            "lmfit_stderr": self.lmfit_stderr,
            "lmfit_stderr_method": LMFIT_STDERR_METHOD,
            "objective": self.objective,
            "delta": self.delta,
            "n_runs": self.n_runs,
            "theta": dict(zip(THETA, map(float, self.theta))),
            "residuals": {
                "min": float(res.min()),
                "max": float(res.max()),
                "rms": float(np.sqrt(np.mean(res**2))),
                "mean_abs": float(np.mean(np.abs(res))),
                "inside_delta": int(np.sum(np.abs(res) <= self.delta)),
            },
            "convergence": {
                "gradient_norm": self.gradient_norm,
                "newton_decrement": self.newton_decrement,
                "polish_improved": self.polish_improved,
            },
            "starts": {
                "n": self.multistart.n_starts,
                "refined": self.multistart.n_refined,
                "best_basin": self.multistart.n_best_basin,
                "converged": self.multistart.n_converged,
            },
            "seconds": self.seconds,
        }


STDERR_METHOD = (
    "sandwich (Huber M-estimator): H^-1 S H^-1 * n/(n-5), H = exact Hessian of the Huber objective, "
    "S = sum of psi(r_i)^2 g_i g_i^T; assumes independent runs and a well-identified optimum"
)
LMFIT_STDERR_METHOD = (
    "lmfit least_squares: inv(J^T J) * sum(r^2)/(n-5) with scipy's Huber-modified Jacobian (rows outside "
    "|r| <= delta are zeroed): a Gaussian least-squares approximation, shown for comparison only"
)


def _to_coefficients(theta: np.ndarray, name: str, source: str) -> Coefficients:
    """Coefficients from (a, b, e, alpha, beta); FitError if the exponents are not positive."""
    a, b, e, alpha, beta = (float(v) for v in theta)
    if not (alpha > 0 and beta > 0):
        raise FitError(
            f"the best fit has non-positive exponents (alpha={alpha:.4g}, beta={beta:.4g}); "
            "the law does not describe these runs"
        )
    return Coefficients(alpha, beta, math.exp(a), math.exp(b), math.exp(e), name=name, source=source)


def _lmfit_uncertainty(result, theta: np.ndarray) -> tuple[dict, dict | None]:
    """lmfit's stderr for the coefficients and correlations of (a, b, e, alpha, beta), None where absent."""
    params = result.params
    if not getattr(result, "errorbars", False) or params["a"].stderr is None:
        return {key: None for key in NAMES}, None
    cov = np.array([[0.0] * 5 for _ in range(5)])
    for i, p in enumerate(THETA):
        for j, q in enumerate(THETA):
            cov[i, j] = (
                params[p].stderr ** 2
                if i == j
                else (params[p].correl or {}).get(q, 0.0) * (params[p].stderr * params[q].stderr)
            )
    return coefficient_stderr(theta, cov), correlations(cov)


def fit(
    runs: Runs,
    delta: float = DELTA,
    starts: np.ndarray | None = None,
    name: str = "fit",
    use_lmfit: bool = True,
) -> FitResult:
    """Fit Eq. 4: batched Newton from the start grid, lmfit polish, convergence check, uncertainties."""
    began = time.perf_counter()
    search = multistart(runs, delta, starts)
    theta, f_best = search.theta, search.objective
    lm_se, lm_corr, improved = {key: None for key in NAMES}, None, False
    if use_lmfit:
        result = polish(theta, runs, delta)
        candidate = np.array([result.params[p].value for p in THETA])
        f_candidate = float(objective(candidate, runs, delta))
        if f_candidate < f_best:
            theta, f_best, improved = candidate, f_candidate, True
        lm_se, lm_corr = _lmfit_uncertainty(result, theta)
    f, g, h = gradient_hessian(theta, runs, delta)
    dec = _decrement(g, h)
    if not (np.isfinite(f) and dec <= 1e-8 * f + 1e-20):  # absolute floor: an exact fit has f ~ 1e-31
        raise FitError(
            f"the fit did not converge (objective {f:.6g}, predicted remaining decrease {dec:.3g})"
        )
    cov = sandwich_covariance(theta, runs, delta)
    x, y, z = runs.logs()
    source = f"symscale fit of {len(runs)} runs from {runs.source or 'memory'} (Huber delta={delta:g})"
    return FitResult(
        coefficients=_to_coefficients(theta, name, source),
        theta=theta,
        objective=f_best,
        n_runs=len(runs),
        residuals=K.residual(*theta, x, y, z),
        gradient_norm=float(np.linalg.norm(g)),
        newton_decrement=dec,
        multistart=search,
        stderr=coefficient_stderr(theta, cov),
        correlations=correlations(cov),
        lmfit_stderr=lm_se,
        lmfit_correlations=lm_corr,
        polish_improved=improved,
        delta=delta,
        seconds=time.perf_counter() - began,
    )


def _decrement(g: np.ndarray, h: np.ndarray) -> float:
    """Predicted remaining decrease of the objective, -g . step for the (saddle-free) Newton step."""
    step = _newton_direction(g[None], h[None])[0]
    return float(max(-g @ step, 0.0))


# ----------------------------------------------------------------------------- bootstrap


@dataclass
class Bootstrap:
    """Bootstrap replicates of the coefficients and their summaries."""

    samples: dict[str, np.ndarray]
    n: int
    n_converged: int
    seed: int | None
    stderr: dict[str, float]
    ci95: dict[str, list[float]]

    def summary(self) -> dict:
        """The JSON-ready summary (without the samples)."""
        return {
            "n": self.n,
            "n_converged": self.n_converged,
            "seed": self.seed,
            "stderr": self.stderr,
            "ci95": self.ci95,
            "n_at_zero_E": int(np.sum(self.samples["E"] < 1e-4)),
            "method": "runs resampled with replacement; each replicate refit by batched Newton from the "
            "best point (vectorised in numpy, chunks spread over every core); percentile intervals over all "
            "replicates, including the ones that did not converge within 300 Newton steps (mostly replicates "
            "whose optimum lies on the boundary E -> 0)",
        }


def bootstrap(
    runs: Runs,
    theta: np.ndarray,
    n: int,
    seed: int | None = None,
    delta: float = DELTA,
    progress: Callable[[int], None] | None = None,
    chunk: int = 100,
    workers: int | None = None,
) -> Bootstrap:
    """Resample runs with replacement n times, refit each from ``theta``; standard errors, 95% intervals.

    Chunks of replicates are refitted together (vectorised) and spread over ``workers`` processes
    (default: every core); the resampling itself is drawn up front, so results do not depend on it.
    """
    if n < 2:
        raise InputError(f"--bootstrap needs at least 2 replicates, got {n}")
    rng = np.random.default_rng(seed)
    size = len(runs)
    counts = rng.multinomial(size, np.full(size, 1.0 / size), size=n).astype(float)
    chunks = [counts[begin : begin + chunk] for begin in range(0, n, chunk)]
    workers = min(workers or os.cpu_count() or 1, len(chunks))
    thetas, ok = [], []
    for result_theta, result_ok in _map_chunks(_refit_chunk, [(theta, runs, delta, w) for w in chunks], workers):
        thetas.append(result_theta)
        ok.append(result_ok)
        if progress:
            progress(len(result_theta))
    th = np.concatenate(thetas)
    samples = {
        "alpha": th[:, 3],
        "beta": th[:, 4],
        "A": np.exp(th[:, 0]),
        "B": np.exp(th[:, 1]),
        "E": np.exp(th[:, 2]),
    }
    stderr = {key: float(np.std(v, ddof=1)) for key, v in samples.items()}
    ci95 = {key: [float(q) for q in np.percentile(v, [2.5, 97.5])] for key, v in samples.items()}
    return Bootstrap(samples, n, int(np.concatenate(ok).sum()), seed, stderr, ci95)


def _refit_chunk(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Refit one chunk of bootstrap weightings from the best point (runs in a worker process)."""
    theta, runs, delta, weights = args
    start = np.tile(np.asarray(theta, float), (len(weights), 1))
    result = batched_newton(start, runs, delta, weights=weights)
    return result.theta, result.converged & np.isfinite(result.objective)


def _map_chunks(func: Callable, items: list, workers: int):
    """Yield func(item) in order, in a process pool when more than one worker is asked for."""
    if workers <= 1:
        yield from map(func, items)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(func, items)


# ----------------------------------------------------------------------------- checks


def table1(runs_path: str | Path, delta: float = DELTA) -> list[dict]:
    """Refit the paper's Table 1 (cutoffs 100, 250, 500 tokens/param, all runs) beside the printed values."""
    runs = load_runs(runs_path)
    rows = []
    for cutoff, paper in PAPER_TABLE1.items():
        subset = select_runs(runs, cutoff)
        result = fit(subset, delta, use_lmfit=False)
        ours = result.coefficients.as_dict()
        paper_theta = np.array(
            [math.log(paper["A"]), math.log(paper["B"]), math.log(paper["E"]), paper["alpha"], paper["beta"]]
        )
        rows.append(
            {
                "cutoff": cutoff,
                "n_runs": len(subset),
                "fit": ours,
                "paper": paper,
                "rel_diff": {k: (ours[k] - paper[k]) / paper[k] for k in NAMES},
                "objective": result.objective,
                "paper_objective": float(objective(paper_theta, subset, delta)),
                "stderr": result.stderr,
                "best_basin": result.multistart.n_best_basin,
            }
        )
    return rows


def reference_lbfgs(
    runs: Runs, starts: np.ndarray | None = None, delta: float = DELTA
) -> tuple[np.ndarray, float]:
    """Chinchilla's procedure as reference: scipy L-BFGS-B, exact gradient, every start; keep the best."""
    from scipy.optimize import minimize

    x, y, z = runs.logs()
    starts = chinchilla_grid() if starts is None else np.asarray(starts, dtype=float)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        out = K.residual_gradient(*theta, x, y, z)
        psi = K.huber_d1(out[0], delta)
        grad = np.array([np.sum(psi * g) for g in out[1:]])
        return float(np.sum(K.huber(out[0], delta))), grad

    best_theta, best_f = starts[0], np.inf
    for start in starts:
        res = minimize(fun, start, jac=True, method="L-BFGS-B")
        if np.isfinite(res.fun) and res.fun < best_f:
            best_theta, best_f = res.x, float(res.fun)
    return best_theta, best_f
