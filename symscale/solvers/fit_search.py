"""The fit's search: the Huber objective from the generated kernels, batched Newton, multistart.

All 4,500 of Chinchilla's starts (or any set) move together in numpy: exact gradient and
generalised Hessian from ``kernels/fit.py``, eigenvalues made positive, Armijo backtracking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symscale.base.runs import N_PARAMS, Runs  # noqa: F401  (N_PARAMS re-exported)
from symscale.kernels import fit as K

#: Parameter order used throughout: A = exp(a), B = exp(b), E = exp(e).
THETA = ("a", "b", "e", "alpha", "beta")
DELTA = 1e-3


class FitError(RuntimeError):
    """The optimisation did not reach a usable optimum (the CLI exits with status 1)."""


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


#: Memory for one batch of starts (their per-run arrays): starts are processed in chunks that fit it.
FIT_MEMORY = 256 * 2**20
#: Bytes held per (start, run) pair during one Newton iteration (measured: the residual's derivatives,
#: Huber terms and the curvature products), with second-order terms and without.
BYTES_PER_PAIR = {True: 8 * 48, False: 8 * 24}


def start_chunk(n_runs: int, exact: bool = True) -> int:
    """Starts per chunk so that one chunk's arrays take at most FIT_MEMORY (or a quarter of what is free)."""
    from symscale.base.limits import memory_budget

    budget = min(FIT_MEMORY, memory_budget() / 4)
    return max(1, int(budget // (max(n_runs, 1) * BYTES_PER_PAIR[exact])))


def batched_newton(
    theta0: np.ndarray,
    runs: Runs,
    delta: float = DELTA,
    weights: np.ndarray | None = None,
    max_iter: int = 300,
    rtol: float = 1e-15,
    exact: bool = True,
) -> NewtonResult:
    """Minimise the objective from many starts (rows of theta0) in chunks of ``start_chunk`` starts.

    Every start moves on its own (its own step, damping and stopping test), so chunks change no answer;
    they bound the memory to O(runs x chunk) whatever the number of starts.
    """
    theta0 = np.asarray(theta0, dtype=float)
    chunk = start_chunk(len(runs), exact)
    if len(theta0) <= chunk:
        return _batched_newton(theta0, runs, delta, weights, max_iter, rtol, exact)
    w_all = np.broadcast_to(_weights(weights, len(runs)), (len(theta0), len(runs)))
    parts = [_batched_newton(theta0[begin:begin + chunk], runs, delta, w_all[begin:begin + chunk], max_iter, rtol,
                             exact) for begin in range(0, len(theta0), chunk)]
    return NewtonResult(*(np.concatenate([getattr(part, key) for part in parts])
                          for key in ("theta", "objective", "decrement", "iterations", "converged")))


def _batched_newton(
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
    searched_runs: int | None = None  # runs the screening used when a sample of them (many runs)
    n_runs: int | None = None

    def describe(self) -> str:
        """One line on the search, for the report."""
        pruned = self.n_starts - self.n_refined
        how = f"{pruned} pruned after cheap IRLS screening, " if pruned else ""
        line = (
            f"{self.n_starts} starts ({how}{self.n_refined} refined by Newton); "
            f"{self.n_best_basin} of the {self.n_refined} refined reached the best basin"
        )
        if self.searched_runs is None:
            return line
        return (f"{line} (search on {self.searched_runs} of the {self.n_runs} runs, spread over their compute; "
                f"its {FINAL_STARTS} best points then refined on all runs)")


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
    if len(runs) > SEARCH_RUNS:
        return _sampled_multistart(runs, delta, starts, schedule, max_iter)
    return _search(runs, delta, starts, schedule, max_iter)


def _search(runs: Runs, delta: float, starts: np.ndarray, schedule, max_iter: int) -> MultiStart:
    """Screening and Newton refinement of ``starts`` on every one of ``runs``."""
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




#: Above this many runs the start search runs on a sample of them (spread over their training compute),
#: and only its FINAL_STARTS best points are refined on every run: the time of a fit then grows with the
#: runs only through those few refinements.
SEARCH_RUNS = 128
FINAL_STARTS = 8


def search_sample(runs: Runs, size: int | None = None) -> np.ndarray:
    """Indices of ``size`` (default SEARCH_RUNS) runs evenly spaced in the order of their compute N x D."""
    size = SEARCH_RUNS if size is None else size
    order = np.argsort(np.log(runs.params) + np.log(runs.tokens), kind="stable")
    return order[np.unique(np.linspace(0, len(runs) - 1, size).round().astype(int))]


def _sampled_multistart(runs: Runs, delta: float, starts: np.ndarray, schedule, max_iter: int) -> MultiStart:
    """The multistart on a sample of the runs, then Newton on all runs from the sample's best points."""
    sample = search_sample(runs)
    coarse = _search(runs.subset(sample), delta, starts, schedule, max_iter)
    finite = np.isfinite(coarse.newton.objective)
    order = np.argsort(np.where(finite, coarse.newton.objective, np.inf), kind="stable")[:FINAL_STARTS]
    newton = batched_newton(coarse.newton.theta[order], runs, delta, max_iter=max_iter)
    finite = np.isfinite(newton.objective)
    if not finite.any():
        raise FitError("no start reached a finite objective")
    best = int(np.argmin(np.where(finite, newton.objective, np.inf)))
    theta, f_best = newton.theta[best].copy(), float(newton.objective[best])
    return MultiStart(theta, f_best, coarse.n_starts, coarse.n_refined, coarse.n_best_basin,
                      coarse.n_converged, newton, searched_runs=len(sample), n_runs=len(runs))
