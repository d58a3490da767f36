"""Vectorised solvers: the inference-aware optimum (Eq. 12 by Newton in ln D) and Chinchilla's closed forms.

Only numpy and the generated kernels are imported here; nothing on this path touches sympy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels as K
from .coefficients import NAMES, Coefficients, resolve
from .errors import InputError
from .flops import INFERENCE_FLOPS_PER_PARAM_TOKEN as INF_PER
from .flops import TRAIN_FLOPS_PER_PARAM_TOKEN as TRAIN_PER

MAX_ITERATIONS = 100
_EPS = np.finfo(float).eps


def coefficient_values(coefficients: Coefficients | str | None, samples: bool = False) -> tuple:
    """(alpha, beta, A, B, E) as floats, or as arrays of bootstrap replicates when ``samples``."""
    coefficients = resolve(coefficients)
    if samples:
        if coefficients.samples is None:
            raise InputError(f"coefficients {coefficients.name!r} hold no bootstrap samples")
        return tuple(np.asarray(coefficients.samples[key], dtype=float) for key in NAMES)
    return tuple(float(getattr(coefficients, key)) for key in NAMES)


def _check_finite(name: str, value: np.ndarray) -> None:
    if not np.all(np.isfinite(value)):
        raise InputError(f"{name} must be finite, got {value[~np.isfinite(value)].flat[0]}")


def check_loss(loss: np.ndarray, E) -> None:
    """Reject losses the law cannot reach (at or below its floor E)."""
    _check_finite("loss", loss)
    bad = loss <= E
    if np.any(bad):
        floor = np.broadcast_to(E, bad.shape)[bad].flat[0]
        raise InputError(
            f"unreachable: the law's floor E is {floor:g}, and loss {loss[bad].flat[0]:g} is not above it; "
            "ask for a loss greater than E"
        )


def check_non_negative(name: str, value: np.ndarray) -> None:
    """Reject negative or non-finite demand-like quantities."""
    _check_finite(name, value)
    if np.any(value < 0):
        raise InputError(f"{name} must be >= 0, got {value[value < 0].flat[0]:g}")


def check_positive(name: str, value: np.ndarray) -> None:
    """Reject non-positive or non-finite sizes."""
    _check_finite(name, value)
    if np.any(value <= 0):
        raise InputError(f"{name} must be > 0, got {value[value <= 0].flat[0]:g}")


def solve_log_tokens(loss, rho, coeffs: tuple) -> tuple[np.ndarray, int]:
    """ln D* solving Eq. 12, vectorised; returns (ln D*, Newton iterations used).

    Newton on G(x) = ln((g - (E - loss))/(loss - E)), x = ln D, which is convex and decreasing:
    started at the lower end of the closed-form bracket it climbs monotonically to the root.
    """
    loss, rho = np.broadcast_arrays(np.asarray(loss, float), np.asarray(rho, float))
    args = np.broadcast_arrays(loss, rho, *coeffs)
    loss, rho, coeffs = args[0], args[1], tuple(args[2:])
    ln_chin = K.log_chinchilla_tokens(loss, *coeffs)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower, upper, _ = K.log_bracket(ln_chin, rho, *coeffs)
    x = np.array(lower, dtype=float, copy=True)
    for iteration in range(1, MAX_ITERATIONS + 1):  # noqa: B007 (returned)
        with np.errstate(over="ignore"):
            g, dg = K.reduced_log(x, loss, rho, *coeffs)
        step = -g / dg
        x = x + step
        if np.all(np.abs(step) <= 8 * _EPS * (1 + np.abs(x))):
            break
    else:  # pragma: no cover - the convergence proof says this cannot happen
        raise RuntimeError("Newton iteration on Eq. 12 did not converge")
    return np.minimum(np.maximum(x, lower), upper), iteration


@dataclass(frozen=True)
class Allocation:
    """Parameters and training tokens (arrays of the broadcast input shape)."""

    params: np.ndarray
    tokens: np.ndarray

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.tokens / self.params


def _prepare(loss, k_train, k_inf, coefficients, samples: bool):
    coeffs = coefficient_values(coefficients, samples)
    loss = np.asarray(loss, dtype=float)
    k_train = np.asarray(k_train, dtype=float)
    k_inf = np.asarray(k_inf, dtype=float)
    check_positive("k_train (training weight)", k_train)
    check_non_negative("inference demand", k_inf)
    check_loss(loss, coeffs[4])
    return loss, k_inf / k_train, coeffs


def solve_optimal(loss, k_train, k_inf, coefficients=None, *, samples: bool = False,
                  method: str = "reduced") -> Allocation:
    """Minimise ``k_train*N*D + k_inf*N`` subject to ``L(N, D) = loss`` (vectorised).

    ``method='reduced'`` solves Eq. 12 by Newton in ln D; ``method='kkt'`` runs Newton on the full
    3x3 KKT system (Eq. 10) as an independent cross-check.
    """
    loss, rho, coeffs = _prepare(loss, k_train, k_inf, coefficients, samples)
    if method == "kkt":
        return _solve_kkt(loss, np.asarray(k_train, float), np.asarray(k_inf, float), coeffs)
    if method != "reduced":
        raise ValueError(f"unknown method {method!r}; use 'reduced' or 'kkt'")
    ln_d, _ = solve_log_tokens(loss, rho, coeffs)
    with np.errstate(over="ignore", invalid="ignore"):
        tokens = np.exp(ln_d)
        params = np.exp(K.log_params_of_tokens(tokens, rho, *coeffs))
    _check_representable(params, tokens, ln_d)
    return Allocation(params, tokens)


def _check_representable(params: np.ndarray, tokens: np.ndarray, ln_d: np.ndarray) -> None:
    """The optimum exists for every reachable loss, but may lie beyond float64 (loss extremely close to E)."""
    bad = ~(np.isfinite(params) & np.isfinite(tokens) & (params > 0) & (tokens > 0))
    if np.any(bad):
        raise InputError(
            f"the optimum is beyond floating-point range (ln D* = {np.asarray(ln_d)[bad].flat[0]:.4g}); "
            "the target loss is too close to E for these coefficients"
        )


def _solve_kkt(loss, k_train, k_inf, coeffs) -> Allocation:
    """Damped Newton on (N, D, lambda) from the Chinchilla point, with the generated 3x3 Jacobian."""
    start = chinchilla(loss=loss, coefficients=coeffs)
    loss, k_train, k_inf, n, d, *cs = np.broadcast_arrays(loss, k_train, k_inf, start.params, start.tokens, *coeffs)
    n, d = n.astype(float).copy(), d.astype(float).copy()
    lam = -k_train * n * d ** (cs[1] + 1) / (cs[1] * cs[3])  # start on the D-stationarity line
    state = np.stack([np.log(n), np.log(d), lam], axis=-1)
    for _ in range(200):
        n, d, lam = np.exp(state[..., 0]), np.exp(state[..., 1]), state[..., 2]
        res = np.stack(K.kkt_residual(n, d, lam, loss, k_train, k_inf, *cs), axis=-1)
        jac = np.stack(np.broadcast_arrays(*K.kkt_jacobian(n, d, lam, loss, k_train, k_inf, *cs)), axis=-1)
        jac = jac.reshape(res.shape[:-1] + (3, 3))
        jac[..., :, 0] *= n[..., None]  # chain rule: Newton in (ln N, ln D, lambda)
        jac[..., :, 1] *= d[..., None]
        step = np.linalg.solve(jac, -res[..., None])[..., 0]
        step[..., :2] = np.clip(step[..., :2], -1.0, 1.0)  # damp: at most a factor e per step
        state = state + step
        if np.all(np.abs(step[..., :2]) <= 1e-14 * (1 + np.abs(state[..., :2]))):
            break
    return Allocation(np.exp(state[..., 0]), np.exp(state[..., 1]))


# --- Chinchilla closed forms and the model calculator ---------------------------------------
def loss_of(params, tokens, coefficients=None) -> np.ndarray:
    """Loss predicted by the law for N params trained on D tokens."""
    params, tokens = np.asarray(params, float), np.asarray(tokens, float)
    check_positive("params", params)
    check_positive("tokens", tokens)
    return K.law(params, tokens, *_coeffs(coefficients))


def tokens_for_loss(params, loss, coefficients=None) -> np.ndarray:
    """Training tokens that bring a model of ``params`` to ``loss`` (on the iso-loss curve); NaN if none does."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tokens = K.tokens_on_constraint(np.asarray(params, float), np.asarray(loss, float), *_coeffs(coefficients))
    return np.where(np.isfinite(tokens) & (tokens > 0), tokens, np.nan)


def params_for_loss(tokens, loss, coefficients=None) -> np.ndarray:
    """Parameters that reach ``loss`` with ``tokens`` of training data (on the iso-loss curve); NaN if none do."""
    with np.errstate(divide="ignore", invalid="ignore"):
        params = K.params_on_constraint(np.asarray(tokens, float), np.asarray(loss, float), *_coeffs(coefficients))
    return np.where(np.isfinite(params) & (params > 0), params, np.nan)


def _coeffs(coefficients) -> tuple:
    return coefficients if isinstance(coefficients, tuple) else coefficient_values(coefficients)


def chinchilla(*, loss=None, params=None, tokens=None, compute=None, coefficients=None) -> Allocation:
    """The Chinchilla-optimal (training-compute-optimal) model fixed by exactly one quantity."""
    given = {k: v for k, v in dict(loss=loss, params=params, tokens=tokens, compute=compute).items() if v is not None}
    if len(given) != 1:
        raise InputError("give exactly one of loss, params, tokens, compute for a Chinchilla-optimal model")
    (name, value), = given.items()
    value = np.asarray(value, dtype=float)
    cs = _coeffs(coefficients)
    if name == "loss":
        check_loss(value, cs[4])
        tokens = np.exp(K.log_chinchilla_tokens(value, *cs))
        return Allocation(np.exp(K.log_chinchilla_params_of_tokens(tokens, *cs)), tokens)
    check_positive(name, value)
    if name == "params":
        return Allocation(value, np.exp(K.log_chinchilla_tokens_of_params(value, *cs)))
    if name == "tokens":
        return Allocation(np.exp(K.log_chinchilla_params_of_tokens(value, *cs)), value)
    ln_n, ln_d = K.log_chinchilla_of_compute(value, *cs)
    return Allocation(np.exp(ln_n), np.exp(ln_d))


def model_from(*, params=None, tokens=None, compute=None) -> Allocation:
    """Any two of params, tokens and training compute (C = 6*N*D) give the third."""
    given = {k: v for k, v in dict(params=params, tokens=tokens, compute=compute).items() if v is not None}
    if len(given) != 2:
        raise InputError("give exactly two of params, tokens, compute (or use --chinchilla with one)")
    for key, value in given.items():
        check_positive(key, np.asarray(value, float))
    if compute is None:
        return Allocation(np.asarray(params, float), np.asarray(tokens, float))
    compute = np.asarray(compute, float)
    if params is None:
        tokens = np.asarray(tokens, float)
        return Allocation(compute / (TRAIN_PER * tokens), tokens)
    params = np.asarray(params, float)
    return Allocation(params, compute / (TRAIN_PER * params))


# --- the compute objective (paper Eq. 3) -----------------------------------------------------
@dataclass(frozen=True)
class ComputeModel:
    """A model with its lifetime FLOPs under a given inference demand."""

    params: np.ndarray
    tokens: np.ndarray
    inference_tokens: np.ndarray

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.tokens / self.params

    @property
    def train_flops(self) -> np.ndarray:
        return TRAIN_PER * self.params * self.tokens

    @property
    def inference_flops(self) -> np.ndarray:
        return INF_PER * self.params * self.inference_tokens

    @property
    def total_flops(self) -> np.ndarray:
        return self.train_flops + self.inference_flops

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in
                ("params", "tokens", "tokens_per_param", "train_flops", "inference_flops", "total_flops")}


@dataclass(frozen=True)
class ComputeSolution:
    """The lifetime-compute-optimal model and the Chinchilla-style model of the same loss."""

    loss: np.ndarray
    inference_tokens: np.ndarray
    optimal: ComputeModel
    baseline: ComputeModel

    params = property(lambda self: self.optimal.params)
    tokens = property(lambda self: self.optimal.tokens)
    train_flops = property(lambda self: self.optimal.train_flops)
    inference_flops = property(lambda self: self.optimal.inference_flops)
    total_flops = property(lambda self: self.optimal.total_flops)

    @property
    def ratio(self) -> dict:
        """Optimal over baseline: params, tokens, total_flops."""
        return {key: getattr(self.optimal, key) / getattr(self.baseline, key)
                for key in ("params", "tokens", "total_flops")}

    def __repr__(self) -> str:
        from .display import solution_repr

        return solution_repr("ComputeSolution", self, "total_flops")

    def _repr_html_(self) -> str:
        from .display import readable, solution_html

        title = f"Compute-optimal model, {readable(np.asarray(self.inference_tokens).flat[0])} inference tokens"
        return solution_html(title, self, ("params", "tokens", "tokens_per_param", "train_flops",
                                           "inference_flops", "total_flops"))


def solve_compute_optimal(loss, inference_tokens, coefficients=None, *, samples: bool = False,
                          method: str = "reduced") -> ComputeSolution:
    """Fewest lifetime FLOPs (6ND + 2N*D_inf) reaching ``loss`` and serving ``inference_tokens``.

    ``loss`` and ``inference_tokens`` may be scalars or arrays of matching shape; ``coefficients``
    a preset name, a JSON path or a Coefficients (default: chinchilla). With ``samples=True`` the
    coefficients' bootstrap replicates are solved, one scenario each.
    """
    demand = np.asarray(inference_tokens, dtype=float)
    check_non_negative("inference tokens", demand)
    optimum = solve_optimal(loss, TRAIN_PER, INF_PER * demand, coefficients, samples=samples, method=method)
    loss_b = np.broadcast_to(np.asarray(loss, float), optimum.params.shape)
    demand_b = np.broadcast_to(demand, optimum.params.shape)
    base = chinchilla(loss=loss_b, coefficients=coefficient_values(coefficients, samples))
    return ComputeSolution(
        loss=loss_b, inference_tokens=demand_b,
        optimal=ComputeModel(optimum.params, optimum.tokens, demand_b),
        baseline=ComputeModel(base.params, base.tokens, demand_b),
    )
