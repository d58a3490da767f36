"""Fit the Chinchilla law to training runs (paper Eq. 4): multistart Newton, lmfit polish, uncertainty.

The objective is sum_i Huber_delta(LSE(a - alpha ln N_i, b - beta ln D_i, e) - ln L_i) with
A, B, E = exp(a), exp(b), exp(e). Residuals and their derivatives come from the generated kernels
in ``kernels/fit.py`` (built by ``problems/fit.py``), so this module never imports sympy.

Search: Chinchilla's 4,500-point start grid is run all at once by a batched, damped Newton method
in numpy (exact gradient and generalised Hessian, eigenvalues made positive, Armijo backtracking),
then the best point is polished with lmfit (scipy least_squares with a Huber loss, which is
exactly this objective). Bootstrap refits are the same batched Newton over resampling weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symscale.base.errors import InputError
from symscale.base.parallel import parallel_map
from symscale.base.runs import Runs, load_runs, select_runs  # noqa: F401  (part of this module's API)
from symscale.kernels import fit as K
from symscale.laws.coefficients import NAMES, Coefficients
from symscale.solvers.fit_search import (  # noqa: F401  (part of this module's API)
    DELTA,
    N_PARAMS,
    SCREEN,
    THETA,
    FitError,
    MultiStart,
    NewtonResult,
    _derivatives,
    _Local,
    _newton_direction,
    _objective,
    batched_newton,
    chinchilla_grid,
    gradient_hessian,
    multistart,
    objective,
    same_basin,
    screen,
)

#: Sardana et al. 2024, Table 1 (alpha, beta, A, B, E), keyed by tokens/param cutoff (None = all runs).
PAPER_TABLE1: dict[float | None, dict[str, float]] = {
    100: {"alpha": 0.08, "beta": 0.13, "A": 7.199, "B": 25.97, "E": 0.17},
    250: {"alpha": 0.13, "beta": 0.16, "A": 14.23, "B": 39.54, "E": 0.98},
    500: {"alpha": 0.13, "beta": 0.16, "A": 17.07, "B": 35.80, "E": 0.95},
    None: {"alpha": 0.18, "beta": 0.24, "A": 33.66, "B": 138.9, "E": 1.45},
}


E_FLOOR = 1e-4
"""An E below this is read as the fit running onto the bound E = 0 (as in the bootstrap summary)."""
EXPONENT_BOUND = 10.0
"""Upper bound on alpha and beta in the lmfit polish."""

DELTA_RANGE = (1e-8, 100.0)
"""Huber thresholds accepted: below 1e-8 the loss is L1 to double precision and Newton cannot settle;
above 100 it is least squares for any residual ln(predicted/observed) the law can produce."""

MAX_BOOTSTRAP = 20_000
"""At most this many replicates (about 4 CPU minutes for the 47 paper runs, and a 3 MB --output file)."""
_SECONDS_PER_REPLICATE_RUN = 2.5e-4  # measured: about 12 ms of CPU per replicate of the 47 paper runs


def check_delta(delta: float) -> None:
    """Refuse a Huber threshold outside DELTA_RANGE (also NaN), before any work."""
    low, high = DELTA_RANGE
    if not low <= delta <= high:
        raise InputError(f"--delta must be between {low:g} and {high:g}, got {delta:g}: below, the Huber loss "
                         "is L1 to double precision; above, it is plain least squares")


def check_bootstrap(n: int, n_runs: int, seed: int | None = None) -> None:
    """Refuse a replicate count that cannot be useful or cannot finish in reasonable time, before any work."""
    if n < 2:
        raise InputError(f"--bootstrap needs at least 2 replicates, got {n}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    if n > MAX_BOOTSTRAP:
        hours = n * n_runs * _SECONDS_PER_REPLICATE_RUN / 3600
        megabytes = n * 140 / 1e6
        raise InputError(f"--bootstrap {n} is more than the {MAX_BOOTSTRAP} replicates allowed: it would take "
                         f"about {hours:.1f} CPU hours and a {megabytes:.0f} MB --output file")


# ----------------------------------------------------------------------------- lmfit polish


def _lmfit_params(theta: np.ndarray):
    """lmfit Parameters a, b, e, alpha, beta; exponents bounded to [0, 10] (the law needs them positive)."""
    import lmfit

    params = lmfit.Parameters()
    for name, value in zip(THETA, theta):
        bounded = name in ("alpha", "beta")
        params.add(name, value=float(value), min=0.0 if bounded else -np.inf,
                   max=EXPONENT_BOUND if bounded else np.inf)
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

    high = EXPONENT_BOUND
    start = np.clip(theta, [-np.inf, -np.inf, -np.inf, 0.0, 0.0], [np.inf, np.inf, np.inf, high, high])
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

    @property
    def on_bound(self) -> dict[str, str]:
        """Coefficients whose optimum sits on a bound of the search (name -> which bound), empty if none."""
        c = self.coefficients
        found = {}
        if c.E < E_FLOOR:
            found["E"] = f"E = {c.E:.3g} is at its floor 0 (below {E_FLOOR:g})"
        for key in ("alpha", "beta"):
            value = getattr(c, key)
            if value >= EXPONENT_BOUND * (1 - 1e-9):
                found[key] = f"{key} = {value:.6g} is at the polish's upper bound {EXPONENT_BOUND:g}"
        return found

    def _repr_html_(self) -> str:
        from symscale.base.display import fit_html

        return fit_html(self)

    def summary(self) -> dict:
        """The JSON-ready core of the result."""
        res = self.residuals
        return {
            "on_bound": self.on_bound,
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
    check_delta(delta)
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
        at_floor = math.exp(theta[2]) < E_FLOOR if np.isfinite(theta[2]) else True
        where = f"; the optimum runs onto the bound E = 0 (E = {math.exp(theta[2]):.3g})" if at_floor else ""
        raise FitError(
            f"the fit did not converge (objective {f:.6g}, predicted remaining decrease {dec:.3g}){where}"
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
    converged: np.ndarray | None = None  # one flag per replicate (refit converged to a finite objective)

    def _repr_html_(self) -> str:
        from symscale.base.display import bootstrap_html

        return bootstrap_html(self)

    @property
    def stderr_log(self) -> dict[str, float]:
        """Standard errors of ln A, ln B, ln E over the converged replicates (the scales' spread is log-normal)."""
        keep = self.converged if self.converged is not None and self.converged.sum() >= 2 else slice(None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {f"ln_{key}": float(np.std(np.log(self.samples[key][keep]), ddof=1)) for key in ("A", "B", "E")}

    def summary(self) -> dict:
        """The JSON-ready summary (without the samples)."""
        return {
            "n": self.n,
            "n_converged": self.n_converged,
            "seed": self.seed,
            "stderr": self.stderr,
            "ci95": self.ci95,
            "n_at_zero_E": int(np.sum(self.samples["E"] < E_FLOOR)),
            "stderr_log": self.stderr_log,
            "method": "runs resampled with replacement; each replicate refit by batched Newton from the "
            "best point (vectorised in numpy, chunks spread over every core); standard errors and percentile "
            "intervals over the converged replicates only (those that did not converge within 300 Newton steps, "
            "mostly with the optimum on the boundary E -> 0, are excluded and counted; the --output file marks them)",
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
    check_bootstrap(n, len(runs), seed)
    check_delta(delta)
    rng = np.random.default_rng(seed)
    size = len(runs)
    counts = rng.multinomial(size, np.full(size, 1.0 / size), size=n).astype(float)
    chunks = [counts[begin : begin + chunk] for begin in range(0, n, chunk)]
    thetas, ok = [], []
    for result_theta, result_ok in parallel_map(_refit_chunk, [(theta, runs, delta, w) for w in chunks], workers):
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
    converged = np.concatenate(ok).astype(bool)
    used = {key: v[converged] if converged.sum() >= 2 else v for key, v in samples.items()}
    stderr = {key: float(np.std(v, ddof=1)) for key, v in used.items()}
    ci95 = {key: [float(q) for q in np.percentile(v, [2.5, 97.5])] for key, v in used.items()}
    return Bootstrap(samples, n, int(converged.sum()), seed, stderr, ci95, converged)


def _refit_chunk(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Refit one chunk of bootstrap weightings from the best point (runs in a worker process)."""
    theta, runs, delta, weights = args
    start = np.tile(np.asarray(theta, float), (len(weights), 1))
    result = batched_newton(start, runs, delta, weights=weights)
    return result.theta, result.converged & np.isfinite(result.objective)


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
