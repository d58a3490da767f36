"""Vectorised solvers: the inference-aware optimum (Eq. 12 by Newton in ln D) and Chinchilla's closed forms.

Only numpy and the generated kernels are imported here; nothing on this path touches sympy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from symscale.base.errors import InputError
from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN as INF_PER
from symscale.base.flops import TRAIN_FLOPS_PER_PARAM_TOKEN as TRAIN_PER
from symscale.kernels import chinchilla as K
from symscale.laws.coefficients import NAMES, Coefficients, resolve

MAX_ITERATIONS = 100
_EPS = np.finfo(float).eps
FLOAT_MAX = float(np.finfo(float).max)
FLOAT_TINY = float(np.finfo(float).tiny)
LN_MAX, LN_TINY = float(np.log(FLOAT_MAX)), float(np.log(FLOAT_TINY))
RANGE_TEXT = "float64 holds 2.2e-308 to 1.8e+308"


def _about(ln_value: float) -> str:
    """A magnitude given by its natural log, as a power of ten: 'about 10^-695'."""
    if np.isnan(ln_value):
        return "not representable"
    if not np.isfinite(ln_value):
        return "infinite" if ln_value > 0 else "zero"
    return f"about 10^{ln_value / np.log(10):.0f}"


def _first(mask: np.ndarray, *arrays) -> list[float]:
    """The values of ``arrays`` at the first position where ``mask`` holds."""
    i = np.flatnonzero(np.ravel(mask))[0]
    return [float(np.ravel(np.broadcast_to(a, np.shape(mask)))[i]) for a in arrays]


def _context(mask: np.ndarray, context: dict | None) -> str:
    if not context:
        return ""
    values = _first(mask, *context.values())
    return " (" + ", ".join(f"{name} {value:g}" for name, value in zip(context, values)) + ")"


def _within(value: np.ndarray, low: float, high: float) -> bool:
    """Whether every value lies in [low, high] (False for a NaN), by two reductions: the checks' fast path."""
    return value.size == 0 or bool(low <= value.min() and value.max() <= high)


def check_log_range(what: str, ln_value, context: dict | None = None, hint: str = "") -> None:
    """Refuse a positive quantity, known by its natural log, that float64 cannot hold (no inf, no 0 by underflow)."""
    ln_value = np.asarray(ln_value, dtype=float)
    if _within(ln_value, LN_TINY, LN_MAX):
        return
    bad = ~((ln_value >= LN_TINY) & (ln_value <= LN_MAX))
    if np.any(bad):
        (ln_bad,) = _first(bad, ln_value)
        size = "cannot be computed" if np.isnan(ln_bad) else f"would be {_about(ln_bad)}"
        raise InputError(f"{what} {size}{_context(bad, context)}, beyond floating-point "
                         f"range ({RANGE_TEXT}){hint}")


def check_in_range(what: str, value, context: dict | None = None) -> None:
    """Refuse a computed positive quantity that overflowed to inf or underflowed to 0 (NaN marks 'no model')."""
    value = np.asarray(value, dtype=float)
    if _within(value, FLOAT_TINY, FLOAT_MAX):
        return
    with np.errstate(invalid="ignore"):
        bad = np.isinf(value) | (value == 0) | ((np.abs(value) < FLOAT_TINY) & (value != 0))
    if np.any(bad):
        (v,) = _first(bad, value)
        size = "overflows" if abs(v) > 1 else "underflows"
        raise InputError(f"{what} {size}{_context(bad, context)}: it is beyond floating-point range ({RANGE_TEXT})")


def coefficient_values(coefficients: Coefficients | str | tuple | None, samples: bool = False) -> tuple:
    """(alpha, beta, A, B, E) as floats, or as arrays of bootstrap replicates when ``samples``."""
    if isinstance(coefficients, tuple):  # already values (e.g. the usable replicates of select_samples)
        return coefficients
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


def check_in_range_or_zero(what: str, value, context: dict | None = None) -> None:
    """Like ``check_in_range`` for a quantity that may legitimately be 0 (no demand)."""
    value = np.asarray(value, dtype=float)
    if _within(value, FLOAT_TINY, FLOAT_MAX):
        return
    if value.size and value.min() == 0 and value.max() <= FLOAT_MAX \
            and np.min(value, where=value != 0, initial=FLOAT_MAX) >= FLOAT_TINY:
        return  # some zeros, every other value in range (the fast path of the check below)
    check_in_range(what, np.where(value == 0, 1.0, value), context)


def check_inference_weight(demand) -> None:
    """The compute objective's k_inf = 2 x inference tokens must be finite (so are the inference FLOPs of any model)."""
    with np.errstate(over="ignore"):
        check_in_range_or_zero("the inference FLOPs per parameter (2 x inference tokens)", INF_PER * np.asarray(demand),
                               {"inference tokens": demand})


def solve_log_tokens(loss, rho, coeffs: tuple) -> tuple[np.ndarray, int]:
    """ln D* solving Eq. 12, vectorised; returns (ln D*, Newton iterations used).

    Newton on G(x) = ln((g - (E - loss))/(loss - E)), x = ln D, which is convex and decreasing:
    started at the lower end of the closed-form bracket it climbs monotonically to the root.
    Each element stops on its own test, and only the elements still moving are iterated: its answer
    is the same alone as in any batch.
    """
    ln_d, _, iterations = _log_tokens(loss, rho, coeffs)
    return ln_d, iterations


def _log_tokens(loss, rho, coeffs: tuple) -> tuple[np.ndarray, np.ndarray, int]:
    """solve_log_tokens, also returning ln D of the Chinchilla-optimal model (the bracket's start)."""
    loss, rho = np.broadcast_arrays(np.asarray(loss, float), np.asarray(rho, float))
    args = np.broadcast_arrays(loss, rho, *coeffs)
    loss, rho, shape = args[0], args[1], args[0].shape
    coeffs = tuple(np.asarray(c, float) if np.ndim(c) == 0 else a for c, a in zip(coeffs, args[2:], strict=True))
    with np.errstate(all="ignore"):
        ln_chin = K.log_chinchilla_tokens(loss, *coeffs)
        lower, upper, _ = K.log_bracket(ln_chin, rho, *coeffs)
    exact = rho == 0  # no demand: the root is Chinchilla's closed form (Newton would meet 0 * inf below e^-709)
    any_exact = bool(np.any(exact))
    x = np.array(lower, dtype=float).reshape(-1)
    active = np.flatnonzero(~exact.reshape(-1)) if any_exact else None  # None: every element
    work = [x.copy() if active is None else x[active], *(_take(a, active) for a in (loss, rho, *coeffs))]
    iteration = 1
    while active is None or active.size:
        x_a, loss_a, rho_a, *coeffs_a = work
        with np.errstate(all="ignore"):
            g, dg = K.reduced_log(x_a, loss_a, rho_a, *coeffs_a)
            step = -g / dg
            x_a = x_a + step
            bad = ~np.isfinite(step)
            if bad.any():
                x_a[bad] = np.nan  # non-finite: rho/D* beyond float64 (refused later)
            # From the lower bound every exact step is >= 0; a tiny or negative one is rounding noise at the root.
            moving = step > 8 * _EPS * (1 + np.abs(x_a))
        work[0] = x_a
        if not moving.all():
            keep = np.flatnonzero(moving)
            if active is None:
                x[:] = x_a
                active = keep
            else:
                x[active] = x_a
                active = active.take(keep)
            work = [_take(a, keep) for a in work]
        if active is not None and not active.size:
            break
        if iteration == MAX_ITERATIONS:  # pragma: no cover - the convergence proof says this cannot happen
            raise RuntimeError("Newton iteration on Eq. 12 did not converge")
        iteration += 1
    with np.errstate(invalid="ignore"):
        ln_d = np.asarray(np.minimum(np.maximum(x.reshape(shape), lower), upper))
    if any_exact:
        np.copyto(ln_d, ln_chin, where=exact)
    return ln_d, ln_chin, iteration


def _take(values: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """values[index] of a flattened array (all of it for None; a 0-d value is shared by every element)."""
    if values.ndim == 0:
        return values
    return values.reshape(-1) if index is None else values.reshape(-1).take(index)


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
    with np.errstate(over="ignore"):
        rho = k_inf / k_train
    check_in_range_or_zero("the weight ratio rho = k_inf/k_train (inference weight over training weight)", rho)
    return loss, rho, coeffs


def solve_optimal(loss, k_train, k_inf, coefficients=None, *, samples: bool = False,
                  method: str = "reduced") -> Allocation:
    """Minimise ``k_train*N*D + k_inf*N`` subject to ``L(N, D) = loss`` (vectorised).

    ``method='reduced'`` solves Eq. 12 by Newton in ln D; ``method='kkt'`` runs Newton on the full
    3x3 KKT system (Eq. 10) as an independent cross-check. With ``samples=True`` only the usable
    bootstrap replicates are solved (see ``select_samples``).
    """
    coefficients = coefficients if isinstance(coefficients, tuple) else resolve(coefficients)
    if not _is_chinchilla(coefficients):
        return _solve_law(loss, k_train, k_inf, coefficients, samples)
    if samples:  # solve only the replicates this scenario can use
        coefficients, samples = select_samples(loss, k_train, k_inf, coefficients)[0], False
    loss, rho, coeffs = _prepare(loss, k_train, k_inf, coefficients, samples)
    if method == "kkt":
        return _solve_kkt(loss, np.asarray(k_train, float), np.asarray(k_inf, float), coeffs)
    if method != "reduced":
        raise ValueError(f"unknown method {method!r}; use 'reduced' or 'kkt'")
    ln_d, _ = solve_log_tokens(loss, rho, coeffs)
    where = {"loss": loss}
    check_log_range("the optimal training tokens D*", np.where(np.isnan(ln_d), np.inf, ln_d), where,
                    _range_hint(ln_d))
    tokens = np.exp(ln_d)
    with np.errstate(divide="ignore", over="ignore"):
        ln_n = K.log_params_of_tokens(tokens, rho, *coeffs)
    check_log_range("the optimal model size N*", ln_n, where, _range_hint(ln_n))
    return Allocation(np.exp(ln_n), tokens)


def _is_chinchilla(coefficients) -> bool:
    return isinstance(coefficients, (Coefficients, tuple))


def _solve_law(loss, k_train, k_inf, coefficients, samples: bool) -> Allocation:
    """Any law other than Chinchilla's: the generic iso-loss solver (symscale.solvers.generic)."""
    from symscale.laws.registry import BUILT_IN
    from symscale.solvers.generic import solve_law

    if coefficients.law not in BUILT_IN and not samples and all(np.ndim(v) == 0 for v in coefficients.values.values()):
        from symscale.problems.generic import check_decreasing  # sympy: only for laws given as a formula

        check_decreasing(coefficients.law, coefficients.values)
    values = coefficients.samples if samples else coefficients.values
    if samples and values is None:
        raise InputError(f"coefficients {coefficients.name!r} hold no bootstrap samples")
    loss, k_train, k_inf = (np.asarray(v, dtype=float) for v in (loss, k_train, k_inf))
    check_positive("k_train (training weight)", k_train)
    check_non_negative("inference demand", k_inf)
    _check_finite("loss", loss)
    result = solve_law(coefficients.law, values, loss, k_train, k_inf)
    return Allocation(result.params, result.tokens)


def compute_optimal_baseline(loss, coefficients=None, samples: bool = False) -> Allocation:
    """The training-compute-optimal model of ``loss`` under the law in use (Chinchilla's closed form,
    or the generic solver with no demand): the reference every lifetime optimum is compared with."""
    coefficients = resolve(coefficients) if not isinstance(coefficients, tuple) else coefficients
    if _is_chinchilla(coefficients):
        return chinchilla(loss=loss, coefficients=coefficient_values(coefficients, samples)
                          if not isinstance(coefficients, tuple) else coefficients)
    if coefficients.law.uses_unique_tokens and not samples:  # unlimited unique data: the law's smooth regime
        from symscale.solvers.data_limited import smooth_regime

        coefficients = smooth_regime(coefficients)
    return _solve_law(loss, TRAIN_PER, 0.0, coefficients, samples)


def _range_hint(ln_value) -> str:
    """What to change when a size is beyond float64: too large means the loss is too close to E."""
    ln_value = np.asarray(ln_value, dtype=float)
    if np.any(ln_value > LN_MAX) or np.any(np.isnan(ln_value)):
        return "; ask for a loss further above E, or check the coefficients"
    return "; ask for a lower loss, or check the coefficients"


# --- bootstrap replicates: which ones a scenario can use (the one place samples are masked) ----
SAMPLE_REASONS = {
    "not_converged": "fit replicate did not converge",
    "invalid": "non-positive exponent or scale, or not finite",
    "unreachable": "target loss <= the sample's E",
    "overflow": "optimum beyond floating-point range",
}


@dataclass(frozen=True)
class SampleUse:
    """How many bootstrap replicates a scenario used, and how many were excluded for which reason."""

    total: int
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return self.total - sum(self.excluded.values())

    def describe(self) -> str:
        """One phrase: '7 of 10 used; excluded: 2 unreachable (...), 1 invalid (...)'."""
        text = f"{self.used} of {self.total} used"
        parts = [f"{count} {reason.replace('_', ' ')} ({SAMPLE_REASONS[reason]})"
                 for reason, count in self.excluded.items()]
        return text + ("; excluded: " + ", ".join(parts) if parts else "")

    @property
    def warning(self) -> str | None:
        """A caution when fewer than half the replicates are usable (None otherwise)."""
        if 2 * self.used >= self.total:
            return None
        return (f"only {self.used} of {self.total} bootstrap samples are usable for this scenario, "
                "so the intervals rest on a minority of the replicates")

    def as_dict(self) -> dict:
        return {"total": self.total, "used": self.used, "excluded": dict(self.excluded)}


def select_samples(loss, k_train, k_inf, coefficients) -> tuple[tuple, SampleUse]:
    """The bootstrap replicates that give a representable optimum for one scenario, and counts of the rest.

    A replicate is excluded as ``invalid`` (a non-positive exponent or scale, negative E, or not finite),
    ``unreachable`` (loss <= its E) or ``overflow`` (the optimum, the Chinchilla-style model or their
    objective values are beyond float64); replicates marked as not converged in the coefficients file were
    dropped when it was read and are counted here. Raises InputError when no replicate is usable.
    """
    coefficients = resolve(coefficients)
    if not _is_chinchilla(coefficients):
        return _select_law_samples(loss, k_train, k_inf, coefficients)
    values = coefficient_values(coefficients, samples=True)
    loss, k_train, k_inf = _one_scenario(loss, k_train, k_inf)
    excluded = dict(getattr(coefficients, "samples_excluded", None) or {})
    alpha, beta, A, B, E = values
    with np.errstate(invalid="ignore"):
        invalid = ~np.logical_and.reduce([np.isfinite(v) for v in values])
        invalid |= ~((alpha > 0) & (beta > 0) & (A > 0) & (B > 0) & (E >= 0))
    unreachable = ~invalid & (loss <= E)
    keep = ~invalid & ~unreachable
    overflow = np.zeros_like(keep)
    overflow[keep] = ~_representable(loss, k_train, k_inf, tuple(v[keep] for v in values))
    keep &= ~overflow
    for reason, mask in (("invalid", invalid), ("unreachable", unreachable), ("overflow", overflow)):
        if np.any(mask):
            excluded[reason] = int(np.sum(mask))
    use = SampleUse(int(alpha.size) + excluded.get("not_converged", 0), excluded)
    if use.used == 0:
        raise InputError(f"no usable bootstrap samples in coefficients {coefficients.name!r} at loss {float(loss):g}: "
                         + use.describe())
    return tuple(v[keep] for v in values), use


def _one_scenario(loss, k_train, k_inf) -> tuple:
    """One scenario's (loss, k_train, k_inf) as checked 0-d arrays: bootstrap samples are solved one at a time."""
    loss, k_train, k_inf = (np.asarray(v, dtype=float) for v in (loss, k_train, k_inf))
    if loss.ndim or k_train.ndim or k_inf.ndim:
        raise InputError("bootstrap samples are solved for one scenario at a time: give a single loss and demand")
    _check_finite("loss", loss)
    check_positive("k_train (training weight)", k_train)
    check_non_negative("inference demand", k_inf)
    return loss, k_train, k_inf


def _select_law_samples(loss, k_train, k_inf, coefficients):
    """select_samples for a law other than Chinchilla's: replicates classified by the generic solver."""
    from symscale.laws.values import LawSampleSet
    from symscale.solvers.generic import UNREACHABLE, solve_law

    law = coefficients.law
    if coefficients.samples is None:
        raise InputError(f"coefficients {coefficients.name!r} hold no bootstrap samples")
    loss, k_train, k_inf = _one_scenario(loss, k_train, k_inf)
    samples = {name: np.asarray(coefficients.samples[name], dtype=float) for name in law.names}
    invalid = np.zeros(next(iter(samples.values())).shape, dtype=bool)
    for c in law.coefficients:
        value = samples[c.name]
        with np.errstate(invalid="ignore"):
            invalid |= ~np.isfinite(value) | ~((value >= c.lower) & (value < c.upper))
    kept = {name: v[~invalid] for name, v in samples.items()}
    optimum = solve_law(law, kept, loss, k_train, k_inf, strict=False)
    base = solve_law(law, kept, loss, TRAIN_PER, 0.0, strict=False)
    with np.errstate(all="ignore"):
        totals = k_train * optimum.params * optimum.tokens + k_inf * optimum.params
    unreachable_kept = optimum.failure == UNREACHABLE
    overflow_kept = ~unreachable_kept & ((optimum.failure != 0) | (base.failure != 0) | ~np.isfinite(totals))
    unreachable, overflow = np.zeros_like(invalid), np.zeros_like(invalid)
    unreachable[~invalid], overflow[~invalid] = unreachable_kept, overflow_kept
    keep = ~invalid & ~unreachable & ~overflow
    excluded = dict(getattr(coefficients, "samples_excluded", None) or {})
    for reason, mask in (("invalid", invalid), ("unreachable", unreachable), ("overflow", overflow)):
        if np.any(mask):
            excluded[reason] = int(np.sum(mask))
    use = SampleUse(int(invalid.size) + excluded.get("not_converged", 0), excluded)
    if use.used == 0:
        raise InputError(f"no usable bootstrap samples in coefficients {coefficients.name!r} at loss {float(loss):g}: "
                         + use.describe())
    return LawSampleSet(law, {name: v[keep] for name, v in samples.items()}, coefficients.name), use


def _representable(loss, k_train, k_inf, coeffs: tuple) -> np.ndarray:
    """Per replicate: are the optimum, the Chinchilla-style model and both objective values finite and > 0?"""
    if coeffs[0].size == 0:
        return np.zeros(0, dtype=bool)
    rho = k_inf / k_train
    with np.errstate(all="ignore"):
        ln_d, _ = solve_log_tokens(loss, rho, coeffs)
        tokens = np.exp(ln_d)
        params = np.exp(K.log_params_of_tokens(tokens, rho, *coeffs))
        base_tokens = np.exp(K.log_chinchilla_tokens(loss, *coeffs))
        base_params = np.exp(K.log_chinchilla_params_of_tokens(base_tokens, *coeffs))
        quantities = (params, tokens, base_params, base_tokens,
                      TRAIN_PER * params * tokens, TRAIN_PER * base_params * base_tokens,  # FLOPs (cost: dollars too)
                      k_train * params * tokens + k_inf * params,
                      k_train * base_params * base_tokens + k_inf * base_params)
        return np.logical_and.reduce([np.isfinite(q) & (q > 0) for q in quantities])


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
    if not isinstance(coefficients, tuple) and not _is_chinchilla(resolve(coefficients)):
        from symscale.kernels.generic import kernels

        law_coefficients = resolve(coefficients)
        values = tuple(law_coefficients.values.values())
        with np.errstate(all="ignore"):
            if law_coefficients.law.uses_unique_tokens:  # a law in unique tokens U: here unlimited fresh data
                from symscale.solvers.data_limited import law_loss

                return np.asarray(law_loss(law_coefficients.law, law_coefficients.values, params, tokens))
            return np.asarray(kernels(law_coefficients.law).loss(params, tokens, *values))
    return K.law(params, tokens, *_coeffs(coefficients))


def tokens_for_loss(params, loss, coefficients=None) -> np.ndarray:
    """Training tokens that bring a model of ``params`` to ``loss`` (on the iso-loss curve); NaN if none does."""
    if not isinstance(coefficients, tuple) and not _is_chinchilla(resolve(coefficients)):
        from symscale.solvers.generic import ln_tokens_at

        c = resolve(coefficients)
        return np.exp(ln_tokens_at(c.law, [np.asarray(c.values[n], float) for n in c.law.names], params, loss))
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
    if not isinstance(coefficients, tuple) and not _is_chinchilla(resolve(coefficients)):
        if name != "loss":
            raise InputError(f"the training-optimal model of given {name} is available for the chinchilla law only; "
                             f"with the law {resolve(coefficients).law.name} give the quality as --loss")
        return compute_optimal_baseline(value, coefficients)
    cs = _coeffs(coefficients)
    with np.errstate(all="ignore"):
        if name == "loss":
            check_loss(value, cs[4])
            ln_d = K.log_chinchilla_tokens(value, *cs)
            _check_chinchilla("training tokens", ln_d, name, value)
            ln_n = K.log_chinchilla_params_of_tokens(np.exp(ln_d), *cs)
        else:
            check_positive(name, value)
            if name == "params":
                ln_n, ln_d = np.log(value), K.log_chinchilla_tokens_of_params(value, *cs)
            elif name == "tokens":
                ln_n, ln_d = K.log_chinchilla_params_of_tokens(value, *cs), np.log(value)
            else:
                ln_n, ln_d = K.log_chinchilla_of_compute(value, *cs)
            _check_chinchilla("training tokens", ln_d, name, value)
        _check_chinchilla("parameters", ln_n, name, value)
    return Allocation(np.exp(ln_n), np.exp(ln_d))


def _check_chinchilla(what: str, ln_value, name: str, value) -> None:
    hint = "; ask for a lower loss" if name == "loss" else ""
    if name == "loss" and np.any(np.asarray(ln_value) > LN_MAX):
        hint = "; ask for a loss further above E"
    check_log_range(f"the Chinchilla-optimal model's {what}", ln_value, {name: value}, hint)


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
    given, missing = ("tokens", "params") if params is None else ("params", "tokens")
    known = np.asarray(tokens if params is None else params, float)
    with np.errstate(all="ignore"):
        other = compute / (TRAIN_PER * known)
    check_in_range(f"{missing} = compute / (6 x {given})", other, {"compute": compute, given: known})
    return Allocation(other, known) if params is None else Allocation(known, other)


LOSS_RESOLUTION = 1e-9
"""A loss must exceed E by this fraction of itself to fix a model (about 7 of float64's 16 digits remain)."""


def resolvable_loss(model: Allocation, coefficients, what: str) -> float:
    """The loss of ``model``, refused when float64 cannot tell it from E (e.g. a Chinchilla model of 1e308 FLOPs)."""
    cs = _coeffs(coefficients)
    loss = float(loss_of(model.params, model.tokens, cs))
    excess = float(K.law(model.params, model.tokens, *cs[:4], 0.0))
    if excess <= LOSS_RESOLUTION * loss:
        raise InputError(f"{what} reaches a loss of E + {excess:.3g}, which float64 cannot tell from the "
                         "coefficients' floor E; give a smaller value")
    return loss


# --- the compute objective (paper Eq. 3) -----------------------------------------------------
ROUNDING = 1e-12
"""Relative excess of the optimum's objective over the baseline's that is float rounding, not a result."""


def objective_ratio(optimal, baseline) -> np.ndarray:
    """optimal / baseline of the minimised objective: at most 1 by optimality, so an excess within rounding is 1.

    (Demand far below the training tokens makes the optimum the baseline itself, and rounding the totals
    would otherwise print a negative saving.)
    """
    ratio = np.asarray(optimal, dtype=float) / np.asarray(baseline, dtype=float)
    return np.where((ratio > 1) & (ratio <= 1 + ROUNDING), 1.0, ratio)

QUANTITY_TEXT = {
    "tokens_per_param": "tokens per parameter", "train_flops": "training FLOPs (6 x params x tokens)",
    "inference_flops": "inference FLOPs (2 x params x inference tokens)", "total_flops": "total FLOPs",
    "train_cost": "training cost", "prefill_cost": "prefill cost", "decode_cost": "decode cost",
    "inference_cost": "inference cost", "total_cost": "total cost",
}
ZERO_WITHOUT_DEMAND = ("inference_flops", "prefill_cost", "decode_cost", "inference_cost", "inference_gpu_hours")
"""Quantities that are 0 exactly when there is no inference demand."""

@dataclass(frozen=True)
class ComputeModel:
    """A model with its lifetime FLOPs under a given inference demand."""

    params: np.ndarray
    tokens: np.ndarray
    inference_tokens: np.ndarray

    def __post_init__(self) -> None:
        """Every model passes here: refuse any quantity beyond float64 rather than print inf, nan or 0."""
        with np.errstate(all="ignore"):
            values = {key: np.asarray(value, dtype=float) for key, value in self.as_dict().items()}
            demand = np.broadcast_to(np.asarray(self.inference_tokens, float), np.shape(values["params"]))
            no_model = np.isnan(np.asarray(self.params, float)) | np.isnan(np.asarray(self.tokens, float))
            served = np.broadcast_to(demand > 0, no_model.shape)
            check_in_range("inference tokens", np.where(demand == 0, 1.0, demand))
            for key, value in values.items():
                may_be_zero = key in ZERO_WITHOUT_DEMAND
                value = np.where(no_model | (may_be_zero & ~served), 1.0, value)
                check_in_range(QUANTITY_TEXT.get(key, key.replace("_", " ")), value, self._where())

    @classmethod
    def from_checked(cls, params, tokens, inference_tokens) -> ComputeModel:
        """A model assembled from chunks that each passed __post_init__ (not checked a second time)."""
        model = object.__new__(cls)
        for name, value in (("params", params), ("tokens", tokens), ("inference_tokens", inference_tokens)):
            object.__setattr__(model, name, value)
        return model

    def _where(self) -> dict:
        where = {"params": self.params, "tokens": self.tokens}
        return {**where, "inference tokens": self.inference_tokens} if np.any(self.inference_tokens) else where

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
    samples: SampleUse | None = None  # with samples=True: which replicates were used

    params = property(lambda self: self.optimal.params)
    tokens = property(lambda self: self.optimal.tokens)
    train_flops = property(lambda self: self.optimal.train_flops)
    inference_flops = property(lambda self: self.optimal.inference_flops)
    total_flops = property(lambda self: self.optimal.total_flops)

    @property
    def ratio(self) -> dict:
        """Optimal over baseline: params, tokens, total_flops."""
        with np.errstate(all="ignore"):
            ratio = {key: getattr(self.optimal, key) / getattr(self.baseline, key) for key in ("params", "tokens")}
        return {**ratio, "total_flops": objective_ratio(self.optimal.total_flops, self.baseline.total_flops)}

    def __repr__(self) -> str:
        from symscale.base.display import solution_repr

        return solution_repr("ComputeSolution", self, "total_flops")

    def _repr_html_(self) -> str:
        from symscale.base.display import readable, solution_html

        title = f"Compute-optimal model, {readable(np.asarray(self.inference_tokens).flat[0])} inference tokens"
        return solution_html(title, self, ("params", "tokens", "tokens_per_param", "train_flops",
                                           "inference_flops", "total_flops"))


def solve_compute_optimal(loss, inference_tokens, coefficients=None, *, law=None, samples: bool = False,
                          method: str = "reduced") -> ComputeSolution:
    """Fewest lifetime FLOPs (6ND + 2N*D_inf) reaching ``loss`` and serving ``inference_tokens``.

    ``loss`` and ``inference_tokens`` may be scalars or arrays of matching shape; ``coefficients``
    a preset name, a JSON path or a Coefficients (default: chinchilla). With ``samples=True`` the
    coefficients' usable bootstrap replicates are solved, one scenario each (``.samples`` counts them).
    ``law`` (a registered name, a formula or a Law) solves another law: ``coefficients`` is then a dict of
    its values, one of its presets, or None for its first preset (:func:`symscale.laws.values.for_law`).
    """
    if law is not None:
        from symscale.laws.values import for_law

        coefficients = for_law(law, coefficients)
    demand = np.asarray(inference_tokens, dtype=float)
    if not _demand_in_range(demand):  # else the two checks cannot refuse it (proved by bounds, no temporaries)
        check_non_negative("inference tokens", demand)
        check_inference_weight(demand)
    if not samples and method == "reduced" and _broadcast_size(loss, demand) > CHECKED_MAX:
        coefficients = coefficients if isinstance(coefficients, tuple) else resolve(coefficients)
        if _is_chinchilla(coefficients):
            return _solve_compute_chunked(np.asarray(loss, dtype=float), demand, coefficients)
    return _solve_compute_checked(loss, demand, coefficients, samples, method)


def _broadcast_size(loss, demand: np.ndarray) -> int:
    """Scenarios in the broadcast of loss and demand (0 when they do not broadcast: the checked path says so)."""
    try:
        return int(np.prod(np.broadcast_shapes(np.shape(loss), demand.shape)))
    except ValueError:
        return 0


def _demand_in_range(demand: np.ndarray) -> bool:
    """Whether every demand is finite and >= 0 with 2 x demand (k_inf) and rho = k_inf/6 in float64's range or 0.

    Rounding is monotone, so the smallest positive and the largest demand bound every k_inf and rho.
    """
    if demand.size == 0 or not np.isfinite(demand).all() or demand.min() < 0:
        return False
    span = _positive_range(demand)
    if span is None:
        return True
    with np.errstate(all="ignore"):
        k_inf = (INF_PER * span[0], INF_PER * span[1])
        rho = (k_inf[0] / TRAIN_PER, k_inf[1] / TRAIN_PER)
    return FLOAT_TINY <= min(k_inf[0], rho[0]) and max(k_inf[1], rho[1]) <= FLOAT_MAX


def _solve_compute_checked(loss, demand: np.ndarray, coefficients, samples: bool, method: str) -> ComputeSolution:
    """solve_compute_optimal in one piece, every intermediate quantity checked as it is computed."""
    use = None
    if samples:
        coefficients, use = select_samples(loss, TRAIN_PER, INF_PER * demand, coefficients)
        samples = False
    optimum = solve_optimal(loss, TRAIN_PER, INF_PER * demand, coefficients, samples=samples, method=method)
    loss_b = np.broadcast_to(np.asarray(loss, float), optimum.params.shape)
    demand_b = np.broadcast_to(demand, optimum.params.shape)
    base = compute_optimal_baseline(loss_b, coefficients, samples)
    return ComputeSolution(
        loss=loss_b, inference_tokens=demand_b,
        optimal=ComputeModel(optimum.params, optimum.tokens, demand_b),
        baseline=ComputeModel(base.params, base.tokens, demand_b), samples=use,
    )


# --- the fast path in cache-sized chunks ------------------------------------------------------
SOLVE_CHUNK = 65_536
"""Scenarios per chunk of a large compute-objective solve: its Newton temporaries stay in the CPU cache."""
SOLVE_THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
"""Threads sharing a large solve (numpy releases the GIL in its loops): two where two cores are free to us; more
would only queue behind the Python work between numpy's loops (bench_solve.py)."""
CHECKED_MAX = 64
"""Solves of at most this many scenarios take the checked path in one piece; larger ones go chunk by chunk."""
RANGE_MARGIN = 1.0
"""e-folds a chunk's results keep from float64's limits to skip the per-quantity checks (else they run)."""


def _solve_compute_chunked(loss: np.ndarray, demand: np.ndarray, coefficients) -> ComputeSolution:
    """solve_compute_optimal in chunks of SOLVE_CHUNK scenarios: memory and time per scenario flat in the size.

    Every input check runs first on the whole input (the same message as one call would give). Each chunk
    is then solved by the arithmetic of the checked path; a chunk whose results come within RANGE_MARGIN of
    float64's limits is solved again by the checked path itself, which refuses what it refuses. An answer is
    thus bitwise the one it would have alone.
    """
    coeffs = tuple(np.asarray(c, float) for c in coefficient_values(coefficients))
    if not (_demand_in_range(demand) and np.isfinite(loss).all() and loss.min() > coeffs[4]):
        _prepare(loss, TRAIN_PER, INF_PER * demand, coefficients, False)  # refuses what one call refuses
    loss_b, demand_b = np.broadcast_arrays(loss, demand)
    flat_loss, flat_demand = loss_b.reshape(-1), demand_b.reshape(-1)
    out = np.empty((4, flat_loss.size))
    pieces = [slice(start, start + SOLVE_CHUNK) for start in range(0, flat_loss.size, SOLVE_CHUNK)]

    def solve_piece(piece: slice) -> None:
        part = _solve_compute_piece(flat_loss[piece], flat_demand[piece], coeffs)
        if part is None:
            checked = _solve_compute_checked(flat_loss[piece], flat_demand[piece], coefficients, False, "reduced")
            part = (checked.optimal.params, checked.optimal.tokens, checked.baseline.params, checked.baseline.tokens)
        for row, value in enumerate(part):
            out[row, piece] = value

    _run_pieces(solve_piece, pieces)
    params, tokens, base_params, base_tokens = (row.reshape(loss_b.shape) for row in out)
    return ComputeSolution(loss=loss_b, inference_tokens=demand_b,
                           optimal=ComputeModel.from_checked(params, tokens, demand_b),
                           baseline=ComputeModel.from_checked(base_params, base_tokens, demand_b))


def _solve_compute_piece(loss: np.ndarray, demand: np.ndarray, coeffs: tuple) -> tuple | None:
    """(params, tokens, baseline params, baseline tokens) of checked inputs by the checked path's arithmetic;
    None when some quantity of a model comes near float64's limits (only the checked path may answer then)."""
    with np.errstate(all="ignore"):
        rho = (INF_PER * demand) / TRAIN_PER
        ln_d, ln_chin, _ = _log_tokens(loss, rho, coeffs)
        tokens = np.exp(ln_d)
        ln_n = K.log_params_of_tokens(tokens, rho, *coeffs)
        base_tokens = np.exp(ln_chin)
        ln_n_base = K.log_chinchilla_params_of_tokens(base_tokens, *coeffs)
    demand_range = _positive_range(demand)
    if not (_safely_in_range(ln_n, ln_d, demand_range) and _safely_in_range(ln_n_base, ln_chin, demand_range)):
        return None
    return np.exp(ln_n), tokens, np.exp(ln_n_base), base_tokens


def _positive_range(values: np.ndarray) -> tuple[float, float] | None:
    """(smallest positive, largest) of non-negative values; None when every value is 0."""
    high, low = float(values.max()), float(values.min())
    if high <= 0:
        return None
    return (float(np.min(values, where=values > 0, initial=high)) if low <= 0 else low), high


def _safely_in_range(ln_n: np.ndarray, ln_d: np.ndarray, demand: tuple[float, float] | None) -> bool:
    """Whether every ComputeModel quantity of these models (N, D, D/N, 6ND, 2N*D_inf, their sum) is, by bounds
    on its log, at least RANGE_MARGIN e-folds inside float64's range: then none of its checks can refuse it."""
    lo_n, hi_n, lo_d, hi_d = float(ln_n.min()), float(ln_n.max()), float(ln_d.min()), float(ln_d.max())
    train = (np.log(TRAIN_PER) + lo_n + lo_d, np.log(TRAIN_PER) + hi_n + hi_d)
    bounds = [(lo_n, hi_n), (lo_d, hi_d), (lo_d - hi_n, hi_d - lo_n), train, (train[0], train[1] + np.log(2))]
    if demand is not None:
        ln_demand = np.log(demand)
        inference = (np.log(INF_PER) + lo_n + ln_demand[0], np.log(INF_PER) + hi_n + ln_demand[1])
        bounds += [(ln_demand[0], ln_demand[1]), inference, (train[0], max(train[1], inference[1]) + np.log(2))]
    return all(LN_TINY + RANGE_MARGIN <= low and high <= LN_MAX - RANGE_MARGIN for low, high in bounds)


def _run_pieces(func, pieces: list) -> None:
    """func(piece) for every piece, on SOLVE_THREADS threads; the first failing piece's error is raised."""
    if SOLVE_THREADS <= 1 or len(pieces) < 2 * SOLVE_THREADS:
        for piece in pieces:
            func(piece)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=SOLVE_THREADS) as pool:
        for _ in pool.map(func, pieces):  # in order: an error surfaces from the earliest piece that has one
            pass
