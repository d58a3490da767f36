"""Planning questions beyond the paper: budgets, break-even demand, smaller models, sensitivities.

Numeric side only (numpy and generated kernels; no sympy): every formula comes from
``kernels/planning.py`` / ``kernels/chinchilla.py``, generated from the sympy derivations of
``problems/planning.py`` / ``problems/chinchilla.py``. All functions are vectorised over their array inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symscale.base.errors import InputError
from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN as INF_PER
from symscale.base.flops import TRAIN_FLOPS_PER_PARAM_TOKEN as TRAIN_PER
from symscale.kernels import chinchilla as K
from symscale.kernels import planning as PK
from symscale.solvers.solve import (
    LOSS_RESOLUTION,
    ComputeModel,
    check_in_range,
    check_inference_weight,
    check_log_range,
    check_loss,
    check_non_negative,
    check_positive,
    chinchilla,
    coefficient_values,
    solve_log_tokens,
)

MAX_ITERATIONS = 200
_EPS = np.finfo(float).eps
MAX_LOG10_RHO = 200
MAX_LOG_RHO = np.log(10.0**MAX_LOG10_RHO)
"""Break-even searches stop at a weight ratio of 1e200 tokens (further out is not a planning question)."""
SENSITIVITY_KEYS = ("alpha", "beta", "A", "B", "E", "ln_inference_tokens")


def _coeffs(coefficients) -> tuple:
    return coefficients if isinstance(coefficients, tuple) else coefficient_values(coefficients)


def _other_law(coefficients):
    """The coefficients when they belong to a law other than Chinchilla's (routed to
    symscale.scenarios.planning_generic)."""
    if isinstance(coefficients, tuple):
        return None
    from symscale.solvers.solve import resolve

    resolved = resolve(coefficients)
    law = getattr(resolved, "law", None)
    return resolved if law is not None and not law.is_chinchilla else None


def _converged(step: np.ndarray, x: np.ndarray) -> bool:
    return bool(np.all(np.abs(step) <= 8 * _EPS * (1 + np.abs(x))))


# --- 1. the budget (dual) problem ----------------------------------------------------------------
@dataclass(frozen=True)
class BudgetOptimum:
    """The lowest loss a lifetime budget buys, and the model that reaches it (arrays)."""

    budget: np.ndarray
    k_train: np.ndarray
    k_inf: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    iterations: int
    minima: np.ndarray | None = None     # generic route: local minima of the loss seen along the budget curve

    @property
    def train_cost(self) -> np.ndarray:
        return self.k_train * self.params * self.tokens

    @property
    def inference_cost(self) -> np.ndarray:
        return self.k_inf * self.params

    @property
    def total_cost(self) -> np.ndarray:
        return self.train_cost + self.inference_cost


def solve_budget_log_tokens(budget, k_train, rho, coeffs: tuple) -> tuple[np.ndarray, int]:
    """ln D* of the budget problem: Newton on h(x) (increasing, concave for alpha < 1, convex above).

    Started at the rho = 0 root, the first step lands on the far side of the root if needed and the
    iterates then move monotonically to it (h has one sign of curvature and a slope >= min(1+beta, alpha+beta)).
    """
    x = np.array(PK.budget_start(budget, k_train, *coeffs), dtype=float, copy=True)
    for iteration in range(1, MAX_ITERATIONS + 1):
        h, dh = PK.budget_log(x, budget, k_train, rho, *coeffs)
        step = -h / dh
        x = x + step
        if _converged(step, x):
            return x, iteration
    raise RuntimeError("Newton iteration on the budget equation did not converge")  # pragma: no cover


def minimum_budget(k_train, k_inf, coefficients=None) -> np.ndarray:
    """The smallest budget whose optimum has at least one parameter and one training token."""
    cs = _coeffs(coefficients)
    k_train, k_inf, *cs = np.broadcast_arrays(np.asarray(k_train, float), np.asarray(k_inf, float), *cs)
    rho = k_inf / k_train
    x = np.zeros_like(rho)  # ln N*(x) is increasing and concave: Newton is monotone after one step
    with np.errstate(all="ignore"):  # beyond float64, x turns inf/nan and the range check below refuses it
        for _ in range(MAX_ITERATIONS):
            f, df = PK.path_log_params(x, rho, *cs)
            step = -f / df
            x = x + step
            if _converged(step, x) or not np.all(np.isfinite(x)):
                break
        ln_floor = PK.path_log_budget(np.maximum(x, 0.0), k_train, rho, *cs)
    check_log_range("the smallest budget that buys one parameter and one token", ln_floor,
                    hint="; check the coefficients")
    return np.exp(ln_floor)


def budget_optimum(budget, k_train, k_inf, coefficients=None) -> BudgetOptimum:
    """Minimise L(N, D) subject to k_train*N*D + k_inf*N = budget (vectorised; any units of budget)."""
    other = _other_law(coefficients)
    cs = _coeffs(coefficients) if other is None else ()
    budget, k_train, k_inf = (np.asarray(v, float) for v in (budget, k_train, k_inf))
    check_positive("budget", budget)
    check_positive("k_train (training weight)", k_train)
    check_non_negative("inference demand", k_inf)
    if other is not None:
        from symscale.scenarios.planning_generic import law_budget_optimum

        return law_budget_optimum(budget, k_train, k_inf, other)
    budget, k_train, k_inf, *cs = np.broadcast_arrays(budget, k_train, k_inf, *cs)
    _check_budget(budget, k_train, k_inf, tuple(cs))
    rho = k_inf / k_train
    x, iterations = solve_budget_log_tokens(budget, k_train, rho, tuple(cs))
    check_log_range("the budget-optimal training tokens", x, {"budget": budget})
    tokens = np.exp(x)
    ln_n = PK.log_params_of_budget(tokens, budget, k_train, rho)
    check_log_range("the budget-optimal model size", ln_n, {"budget": budget})
    params = np.exp(ln_n)
    loss = K.law(params, tokens, *cs)
    _check_resolvable(budget, loss, params, tokens, tuple(cs))
    return BudgetOptimum(budget, k_train, k_inf, params, tokens, loss, iterations)


def _check_resolvable(budget, loss, params, tokens, cs: tuple) -> None:
    """Refuse budgets so large that the loss they buy is E to float64 precision (no model is comparable to it)."""
    excess = K.law(params, tokens, cs[0], cs[1], cs[2], cs[3], 0.0)
    bad = excess <= LOSS_RESOLUTION * loss
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise InputError(
            f"budget {budget.ravel()[i]:.4g} buys a loss of E + {excess.ravel()[i]:.3g}, which float64 cannot tell "
            "from the coefficients' floor E; give a smaller budget")


def _check_budget(budget, k_train, k_inf, cs: tuple) -> None:
    floor = minimum_budget(k_train, k_inf, cs)
    bad = budget < floor
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise InputError(
            f"budget {budget.ravel()[i]:.4g} is too small for any model at this demand: the best it buys has fewer "
            f"than one parameter or one training token; give at least {floor.ravel()[i]:.4g} "
            f"(serving the demand alone with a one-parameter model costs {k_inf.ravel()[i]:.4g})")


def compute_budget_optimum(flops, inference_tokens=0.0, coefficients=None) -> tuple[BudgetOptimum, ComputeModel]:
    """The budget problem for lifetime FLOPs (6ND + 2N*D_inf): the optimum and its FLOP accounting."""
    demand = np.asarray(inference_tokens, float)
    check_non_negative("inference tokens", demand)
    check_inference_weight(demand)
    optimum = budget_optimum(flops, TRAIN_PER, INF_PER * demand, coefficients)
    demand = np.broadcast_to(demand, optimum.params.shape)
    return optimum, ComputeModel(optimum.params, optimum.tokens, demand)


def cost_budget_optimum(dollars, settings, coefficients=None) -> BudgetOptimum:
    """The budget problem for lifetime dollars (paper Eq. 6 weights from ``settings``, a CostSettings)."""
    k_train, k_inf = settings.weights()
    return budget_optimum(dollars, k_train, k_inf, coefficients)


# --- 2. break-even demand -----------------------------------------------------------------------
@dataclass(frozen=True)
class Breakeven:
    """The weight ratio rho = k_inf/k_train (tokens) at which a saving or size ratio is reached."""

    loss: np.ndarray
    rho: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    chinchilla_params: np.ndarray
    chinchilla_tokens: np.ndarray
    saving: np.ndarray      # achieved saving of the optimum at rho (verification)
    size_ratio: np.ndarray  # achieved params / Chinchilla params at rho (verification)

    @property
    def inference_tokens(self) -> np.ndarray:
        """The compute objective's demand: rho = 2*D_inf/6."""
        return self.rho * TRAIN_PER / INF_PER


def max_saving(coefficients=None, loss=None) -> float:
    """The supremum of the saving over all demand, 1 - (beta/(alpha+beta))**(1/alpha): the same for every loss.

    For another law it may depend on the loss (then required): 1 - N_crit/N_opt at that loss."""
    other = _other_law(coefficients)
    if other is not None:
        from symscale.scenarios.planning_generic import law_max_saving

        return law_max_saving(other, _loss_for(other, loss))
    alpha, beta, *_ = _coeffs(coefficients)
    return float(PK.max_saving(alpha, beta))


def critical_fraction(coefficients=None, loss=None) -> float:
    """The critical model size as a fraction of the Chinchilla size (no data reaches the loss below it).

    For another law: N_crit/N_opt at ``loss`` (required), N_opt the law's training-optimal size."""
    other = _other_law(coefficients)
    if other is not None:
        from symscale.scenarios.planning_generic import law_critical_fraction

        return law_critical_fraction(other, _loss_for(other, loss))
    alpha, beta, *_ = _coeffs(coefficients)
    return float(PK.critical_fraction(alpha, beta))


def _loss_for(coefficients, loss) -> float:
    if loss is None:
        raise InputError(f"under the law {coefficients.law.name} this depends on the loss: give loss=")
    return float(np.ravel(loss)[0])


def _optimum_at(log_rho, loss, cs: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rho = np.exp(log_rho)
    ln_d, _ = solve_log_tokens(loss, rho, cs)
    tokens = np.exp(ln_d)
    return rho, np.exp(K.log_params_of_tokens(tokens, rho, *cs)), tokens


def _saving_at(log_rho, loss, base, cs: tuple) -> tuple[np.ndarray, np.ndarray]:
    rho, params, tokens = _optimum_at(log_rho, loss, cs)
    return PK.saving(params, tokens, base.params, base.tokens, rho)


def _bracket(target, loss, base, cs: tuple) -> tuple[np.ndarray, np.ndarray]:
    """ln rho brackets [lo, hi] with saving(lo) <= target <= saving(hi) (the saving rises with demand)."""
    lo = np.log(base.tokens) - 10.0
    hi = np.log(base.tokens)
    for _ in range(100):
        low = _saving_at(lo, loss, base, cs)[0] > target
        high = (_saving_at(hi, loss, base, cs)[0] < target) & (hi < MAX_LOG_RHO)
        if not (np.any(low) or np.any(high)):
            break
        lo, hi = np.where(low, lo - 10.0, lo), np.where(high, np.minimum(hi + 5.0, MAX_LOG_RHO), hi)
    far = _saving_at(hi, loss, base, cs)[0] < target
    if np.any(far):
        raise InputError(f"a saving of {np.broadcast_to(target, far.shape)[far].flat[0]:g} needs more than 1e200 "
                         "tokens of demand; ask for a slightly smaller saving")
    return lo, hi


def _solve_saving(target, loss, base, cs: tuple) -> np.ndarray:
    """ln rho where saving = target: Newton in ln rho, kept inside a shrinking bracket (bisection fallback)."""
    lo, hi = _bracket(target, loss, base, cs)
    u = 0.5 * (lo + hi)
    for _ in range(MAX_ITERATIONS):
        value, slope = _saving_at(u, loss, base, cs)
        below = value < target
        lo, hi = np.where(below, u, lo), np.where(below, hi, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = u - (value - target) / slope
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        new = np.where(inside, newton, 0.5 * (lo + hi))
        step, u = new - u, new
        if _converged(step, u) or np.all(hi - lo <= 8 * _EPS * (1 + np.abs(u))):
            break
    return u


def breakeven(loss, coefficients=None, *, saving=None, size_ratio=None) -> Breakeven:
    """The weight ratio rho at which the optimum saves ``saving`` or has ``size_ratio`` of the Chinchilla params."""
    if (saving is None) == (size_ratio is None):
        raise InputError("give exactly one of saving, size_ratio")
    other = _other_law(coefficients)
    if other is not None:
        from symscale.scenarios.planning_generic import law_breakeven

        return law_breakeven(loss, other, saving=saving, size_ratio=size_ratio)
    cs = _coeffs(coefficients)
    loss = np.asarray(loss, float)
    check_loss(loss, cs[4])
    target = np.asarray(saving if saving is not None else size_ratio, float)
    loss, target, *cs = np.broadcast_arrays(loss, target, *cs)
    cs = tuple(cs)
    base = chinchilla(loss=loss, coefficients=cs)
    check_log_range(f"the Chinchilla-optimal model's lifetime weight N_c x (D_c + rho) at rho = 1e{MAX_LOG10_RHO}, "
                    "the end of the break-even search,", np.log(base.params) + np.logaddexp(np.log(base.tokens),
                                                                                              MAX_LOG_RHO),
                    {"loss": loss}, "; ask for a loss further from E, or check the coefficients")
    if saving is not None:
        _check_saving(target, cs)
        log_rho = _solve_saving(target, loss, base, cs)
    else:
        _check_size_ratio(target, cs)
        log_rho = PK.log_breakeven_rho_of_size(target, loss, *cs)
    rho, params, tokens = _optimum_at(log_rho, loss, cs)
    achieved = PK.saving(params, tokens, base.params, base.tokens, rho)[0]
    return Breakeven(loss, rho, params, tokens, base.params, base.tokens, achieved, params / base.params)


def _check_saving(target: np.ndarray, cs: tuple) -> None:
    top = PK.max_saving(cs[0], cs[1])
    bad = ~((target > 0) & (target < top))
    if np.any(bad):
        value, best = target[bad].flat[0], np.broadcast_to(top, bad.shape)[bad].flat[0]
        raise InputError(f"no demand gives a saving of {value:g}: savings lie strictly between 0 and {best:.6g}, "
                         f"the largest reachable saving (approached as demand grows; the same for every loss)")


def _check_size_ratio(target: np.ndarray, cs: tuple) -> None:
    low = PK.critical_fraction(cs[0], cs[1])
    bad = ~((target > low) & (target < 1))
    if np.any(bad):
        value, floor = target[bad].flat[0], np.broadcast_to(low, bad.shape)[bad].flat[0]
        raise InputError(f"no demand gives a size ratio of {value:g}: the optimum shrinks from 1 (no demand) "
                         f"towards {floor:.6g} (the critical size) as demand grows; ask for a ratio in between")


def breakeven_demand(loss, coefficients=None, *, saving=None, size_ratio=None, settings=None) -> tuple:
    """(Breakeven, demand): demand is lifetime inference tokens, or lifetime requests with cost ``settings``.

    With ``settings`` (a CostSettings) the saving is in dollars, with its input/output split per request
    and hardware; the answer is the number of requests.
    """
    if settings is None:
        result = breakeven(loss, coefficients, saving=saving, size_ratio=size_ratio)
        return result, result.inference_tokens
    from dataclasses import replace

    k_train, k_inf_per_request = replace(settings, requests=1.0).weights()
    cs = _coeffs(coefficients) if _other_law(coefficients) is None else coefficients
    result = breakeven(loss, cs, saving=saving, size_ratio=size_ratio)
    return result, result.rho * k_train / k_inf_per_request


# --- 3. the overhead of a smaller model ---------------------------------------------------------
@dataclass(frozen=True)
class Overhead:
    """A model k times the Chinchilla size trained to the Chinchilla model's loss."""

    fraction: np.ndarray
    loss: np.ndarray
    chinchilla: ComputeModel
    model: ComputeModel
    token_ratio: np.ndarray
    compute_ratio: np.ndarray     # training compute (and training dollars) relative to Chinchilla
    critical_fraction: np.ndarray
    critical_params: np.ndarray   # smallest model reaching the loss with unlimited data

    @property
    def compute_overhead(self) -> np.ndarray:
        return self.compute_ratio - 1

    @property
    def extra_tokens(self) -> np.ndarray:
        return self.model.tokens - self.chinchilla.tokens

    @property
    def extra_train_flops(self) -> np.ndarray:
        return self.model.train_flops - self.chinchilla.train_flops


def overhead(fraction, loss, coefficients=None, inference_tokens=0.0) -> Overhead:
    """Data and training compute a model of ``fraction`` x the Chinchilla size needs to reach ``loss``.

    For another law the size is a fraction of the law's training-optimal model (symscale.scenarios.planning_generic)."""
    other = _other_law(coefficients)
    if other is not None:
        from symscale.scenarios.planning_generic import law_overhead

        return law_overhead(fraction, loss, other, inference_tokens)
    cs = _coeffs(coefficients)
    fraction, loss, demand = (np.asarray(v, float) for v in (fraction, loss, inference_tokens))
    check_positive("size fraction", fraction)
    check_loss(loss, cs[4])
    check_non_negative("inference tokens", demand)
    fraction, loss, demand, *cs = np.broadcast_arrays(fraction, loss, demand, *cs)
    crit = PK.critical_fraction(cs[0], cs[1])
    ln_min_params = PK.log_min_params(loss, *cs)
    check_log_range("the critical model size (smallest model reaching the loss)", ln_min_params, {"loss": loss})
    min_params = np.exp(ln_min_params)
    base = chinchilla(loss=loss, coefficients=tuple(cs))
    bad = fraction <= crit
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise InputError(
            f"no amount of data brings a model of {fraction.ravel()[i]:g} x the Chinchilla size to loss "
            f"{loss.ravel()[i]:g}: the critical size is {crit.ravel()[i]:.6g} x ({min_params.ravel()[i]:.4g} "
            "params), where the data needed diverges; ask for a larger fraction")
    with np.errstate(over="ignore"):
        ln_tokens_ratio, ln_compute_ratio = PK.overhead_log_ratios(fraction, cs[0], cs[1])
        ln_tokens = PK.log_fraction_tokens(fraction, loss, *cs)
        params = fraction * base.params
    check_in_range("the model size (fraction x Chinchilla params)", params, {"fraction": fraction})
    check_log_range("the training tokens of the smaller model", ln_tokens, {"fraction": fraction})
    for what, ln_ratio in (("token ratio", ln_tokens_ratio), ("compute ratio", ln_compute_ratio)):
        check_log_range(f"the {what}", ln_ratio, {"fraction": fraction})
    tokens = np.exp(ln_tokens)
    return Overhead(
        fraction, loss,
        ComputeModel(base.params, base.tokens, demand),
        ComputeModel(params, tokens, demand),
        np.exp(ln_tokens_ratio), np.exp(ln_compute_ratio), crit, min_params,
    )


# --- 4. sensitivities by the implicit function theorem ------------------------------------------
def sensitivities(loss, k_train, k_inf, coefficients=None) -> dict:
    """d ln N*/d theta and d ln D*/d theta, theta = (alpha, beta, A, B, E, ln k_inf), at fixed loss.

    Implicit differentiation of the KKT system F(ln N, ln D, w; theta) = 0: dz/dtheta = -J^-1 dF/dtheta,
    with J and dF/dtheta generated from sympy. d/d ln k_inf equals d/d ln(demand) for either objective.
    For another law theta is its own coefficients and ln k_inf (symscale.scenarios.planning_generic.law_sensitivities).
    """
    other = _other_law(coefficients)
    if other is not None:
        from symscale.scenarios.planning_generic import law_sensitivities

        return law_sensitivities(loss, k_train, k_inf, other)
    cs = _coeffs(coefficients)
    loss, k_train, k_inf = (np.asarray(v, float) for v in (loss, k_train, k_inf))
    check_loss(loss, cs[4])
    check_positive("k_train (training weight)", k_train)
    check_non_negative("inference demand", k_inf)
    loss, k_train, k_inf, *cs = np.broadcast_arrays(loss, k_train, k_inf, *cs)
    rho = k_inf / k_train
    ln_d, _ = solve_log_tokens(loss, rho, tuple(cs))
    d = np.exp(ln_d)
    n = np.exp(K.log_params_of_tokens(d, rho, *cs))
    w = PK.log_neg_multiplier(n, d, k_train, *cs)
    args = (n, d, w, loss, k_train, k_inf, *cs)
    shape = n.shape
    with np.errstate(all="ignore"):  # the multiplier exp(w) times sizes can overflow: refused just below
        jac = np.stack(np.broadcast_arrays(*PK.kkt_log_jacobian(*args)), axis=-1).reshape(shape + (3, 3))
        par = np.stack(np.broadcast_arrays(*PK.kkt_log_parameters(*args)), axis=-1).reshape(shape + (3, 6))
        finite = np.isfinite(jac).all(axis=(-2, -1)) & np.isfinite(par).all(axis=(-2, -1))
        if not np.all(finite):
            (bad_loss, bad_k_inf) = (np.ravel(v)[np.flatnonzero(~finite.ravel())[0]] for v in (loss, k_inf))
            raise InputError(f"the sensitivities at loss {bad_loss:g} and inference weight k_inf {bad_k_inf:g} are "
                             f"beyond floating-point range (the KKT multiplier overflows float64); ask for less demand")
        dz = -np.linalg.solve(jac, par)
    return {
        "ln_params": {key: dz[..., 0, i] for i, key in enumerate(SENSITIVITY_KEYS)},
        "ln_tokens": {key: dz[..., 1, i] for i, key in enumerate(SENSITIVITY_KEYS)},
    }


def sensitivity_values(loss: float, k_train: float, k_inf: float, coefficients) -> dict:
    """JSON-ready sensitivities at one scenario with weights (k_train, k_inf)."""
    values = sensitivities(loss, k_train, k_inf, coefficients)
    return {row: {key: float(v) for key, v in cols.items()} for row, cols in values.items()}


def sensitivity_report(loss: float, demand: float, coefficients) -> dict:
    """JSON-ready sensitivities of the compute-optimal model (for `solve --sensitivity`)."""
    values = sensitivities(loss, TRAIN_PER, INF_PER * np.asarray(demand, float), coefficients)
    return {row: {key: float(v) for key, v in cols.items()} for row, cols in values.items()}


def render_sensitivity(report: dict) -> str:
    """Plain-text table of a sensitivity report."""
    labels = {key: "ln(demand)" if key == "ln_inference_tokens" else key for key in report["ln_params"]}
    width = max(len(v) for v in labels.values())
    lines = ["Sensitivities of the optimum at fixed loss (implicit differentiation of the KKT system):",
             f"  {'d/d':<{width}}  {'ln N*':>12}  {'ln D*':>12}"]
    for key, label in labels.items():
        lines.append(f"  {label:<{width}}  {report['ln_params'][key]:>12.5g}  {report['ln_tokens'][key]:>12.5g}")
    return "\n".join(lines)


# --- high-precision verification (mpmath; imported only when asked for) ------------------------
def verify_budget(optimum: BudgetOptimum, coefficients=None, dps: int = 50) -> dict:
    """Check a budget answer at ``dps`` digits: it is the optimum of `solve` at its loss, and spends the budget.

    Uses ``verify.verify_optimum`` (mpmath re-solve of Eq. 12 and the KKT residuals), then prices the
    high-precision model: ``budget_digits`` is how many digits its lifetime total shares with the budget.
    """
    import mpmath

    from symscale.verify.chinchilla import agreeing_digits

    values = [np.ravel(v)[0] for v in (optimum.loss, optimum.k_train, optimum.k_inf, optimum.params, optimum.tokens)]
    result = _verify_at(*(float(v) for v in values), coefficients, dps)
    with mpmath.workdps(int(dps) + 10):
        params, tokens = mpmath.mpf(result["params_precise"]), mpmath.mpf(result["tokens_precise"])
        total = _precise("objective")(params, tokens, *(mpmath.mpf(float(v)) for v in values[1:3]))
        result["budget_digits"] = agreeing_digits(float(np.ravel(optimum.budget)[0]), total, dps)
    return result


def verify_breakeven(result: Breakeven, coefficients=None, dps: int = 50, index: int = 0) -> dict:
    """Check a break-even answer at ``dps`` digits: the optimum at the found demand, and the saving it gives."""
    import mpmath

    i = index
    rho, loss = float(np.ravel(result.rho)[i]), float(np.ravel(result.loss)[i])
    check = _verify_at(loss, 1.0, rho, float(np.ravel(result.params)[i]), float(np.ravel(result.tokens)[i]),
                           coefficients, dps)
    with mpmath.workdps(int(dps) + 10):
        n, d = mpmath.mpf(check["params_precise"]), mpmath.mpf(check["tokens_precise"])
        n_c, d_c = (mpmath.mpf(float(np.ravel(v)[i])) for v in (result.chinchilla_params, result.chinchilla_tokens))
        saving = _precise("saving")(n, d, n_c, d_c, mpmath.mpf(rho))
        check["saving_precise"] = float(saving)
        check["size_ratio_precise"] = float(n / n_c)
    return check


def _verify_at(loss, k_train, k_inf, params, tokens, coefficients, dps: int) -> dict:
    """mpmath re-solve of the lifetime optimum: Eq. 12 for Chinchilla's law, the law's own system otherwise."""
    other = _other_law(coefficients)
    if other is None:
        from symscale.verify.chinchilla import verify_optimum

        return verify_optimum(loss, k_train, k_inf, params, tokens, coefficients, dps)
    if other.law.uses_unique_tokens:  # unlimited unique data: the data-limited solver's optimum, in its regime
        from symscale.solvers.data_limited import solve_limited
        from symscale.verify.generic import verify_limited

        optimum = solve_limited(other.law, other.values, loss, k_train, k_inf)
        return verify_limited(other.law, other.values, loss, k_train, k_inf, None, optimum, dps)
    from symscale.verify.generic import verify_law_optimum

    return verify_law_optimum(other.law, other.values, loss, k_train, k_inf, params, tokens, dps)


def _precise(name: str):
    """mpmath functions lambdified from the symbolic model: the objective, or the saving of an allocation."""
    import sympy as sp

    from symscale.problems import chinchilla as s
    from symscale.problems import planning as ps

    if name == "objective":
        return sp.lambdify((s.N, s.D, s.k_train, s.k_inf), s.objective, "mpmath")
    return sp.lambdify((s.N, s.D, ps.N_c, ps.D_c, s.rho), ps.breakeven_model().saving, "mpmath")
