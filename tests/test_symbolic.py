"""The derived system equals the paper's printed Eqs. 8-12, and Chinchilla's closed forms follow."""

import mpmath as mp
import pytest
import sympy as sp

from symscale.problems import chinchilla as s


@pytest.fixture(scope="module")
def model():
    return s.derive()


def _zero(expr) -> bool:
    if isinstance(expr, sp.MatrixBase):
        return all(_zero(e) for e in expr)
    return sp.simplify(expr) == 0


def test_eq8_gradient_of_compute_objective(model):
    assert _zero(s.compute_instance(model.grad_objective) - s.PAPER["eq8"])


def test_eq9_gradient_of_law(model):
    assert _zero(model.grad_law - s.PAPER["eq9"])


def test_eq10_kkt_system(model):
    for derived, printed in zip(model.kkt, s.PAPER["eq10"], strict=True):
        derived = s.compute_instance(derived.lhs - derived.rhs)
        assert _zero(derived - (printed.lhs - printed.rhs))


def test_eq11_lambda_eliminated(model):
    assert _zero(s.compute_instance(model.param_term) - s.PAPER["eq11"])


def test_eq12_reduced_equation(model):
    assert _zero(s.compute_instance(model.reduced) - s.PAPER["eq12"])


def test_eq11_holds_on_kkt_solutions(model):
    """Eq. 11 is a consequence of Eq. 10: substitute lambda and N back and both equations vanish."""
    n_star = model.params_of_tokens
    for eq in model.kkt[:2]:
        residual = (eq.lhs - eq.rhs).subs(s.lam, model.lam_solution).subs(s.k_inf, s.rho * s.k_train)
        assert _zero(sp.powsimp(sp.expand(residual.subs(s.N, n_star)), force=True))


def test_reduced_log_has_the_same_root(model):
    """G(x) = ln((g - c)/(-c)) at x = ln D: exp(G)*(loss - E) equals g - (E - loss)."""
    shifted = (model.reduced - (s.E - s.loss)).subs(s.D, sp.exp(s.x))
    assert _zero(sp.exp(model.reduced_log) * (s.loss - s.E) - shifted)


def test_chinchilla_limit(model):
    ch = s.chinchilla()
    gap = sp.Symbol("gap", positive=True)  # loss - E > 0: the loss is reachable
    root = model.reduced.subs(s.rho, 0).subs(s.D, ch.tokens_of_loss).subs(s.loss, s.E + gap)
    assert _zero(sp.powdenest(root, force=True))
    # N from D is Eq. 11 at rho = 0, and the compute forms satisfy C = 6 N D and the N-D relation.
    n, d = ch.params_of_compute, ch.tokens_of_compute
    assert _zero(sp.expand_log(sp.log(6 * n * d), force=True) - sp.log(s.C))
    assert _zero(sp.expand_log(sp.log(ch.params_of_tokens.subs(s.D, d)) - sp.log(n), force=True))
    assert _zero(sp.expand_log(sp.log(ch.tokens_of_params.subs(s.N, n)) - sp.log(d), force=True))


def test_bracket_identity(model):
    """At the root, (D/D_chin)**beta = 1 + (k2/k1)/D, which gives D_chin <= D* <= the closed-form bound."""
    d_chin = sp.Symbol("D_chin", positive=True)
    k1, k2 = model.reduced_k1, model.reduced_k2
    at_chin = model.reduced.subs(s.loss, s.E + k1 * d_chin**-s.beta)
    identity = sp.expand(at_chin * s.D**s.beta / k1)
    expected = 1 + (k2 / k1) / s.D - (s.D / d_chin) ** s.beta
    assert _zero(sp.powsimp(sp.expand(identity - expected), force=True))
    assert _zero(k2 / k1 - s.beta * s.rho / (s.alpha + s.beta))


def test_bracket_signs_at_high_precision(model):
    """g >= 0 at the lower bound and g <= 0 at the design-notes upper bound, over random draws (mpmath)."""
    mp.mp.dps = 40
    g = sp.lambdify((s.D, s.loss, s.rho, *s.COEFFICIENTS), model.reduced, "mpmath")
    d_chin = sp.lambdify((s.loss, *s.COEFFICIENTS), s.chinchilla().tokens_of_loss, "mpmath")
    rng = __import__("random").Random(1)
    for _ in range(200):
        a, b = mp.mpf(rng.uniform(0.05, 2)), mp.mpf(rng.uniform(0.05, 2))
        A, B, E = mp.mpf(rng.uniform(1, 1e3)), mp.mpf(rng.uniform(1, 1e3)), mp.mpf(rng.uniform(0, 3))
        loss = E + mp.mpf(10) ** rng.uniform(-3, 1)
        rho = mp.mpf(10) ** rng.uniform(-5, 20)
        dc = d_chin(loss, a, b, A, B, E)
        upper = dc * (1 + rho * b / ((a + b) * dc)) ** (1 / b)
        assert g(dc, loss, rho, a, b, A, B, E) >= 0
        assert g(upper, loss, rho, a, b, A, B, E) <= 0


def test_bordered_hessian_is_negative_at_the_optimum(model):
    """Second-order condition: det of the bordered Hessian < 0 at the solution (compute objective)."""
    from symscale import solve_compute_optimal

    sol = solve_compute_optimal(1.947, 2e12)
    n, d = float(sol.params), float(sol.tokens)
    vals = {s.alpha: 0.336, s.beta: 0.283, s.A: 406.4, s.B: 410.7, s.E: 1.69, s.k_train: 6, s.k_inf: 4e12}
    lam = model.lam_solution.subs(vals).subs({s.N: n, s.D: d})
    det = model.bordered_hessian.subs(vals).subs({s.N: n, s.D: d, s.lam: lam}).det()
    assert float(det) < 0


def test_refined_bracket_used_by_the_solver_holds_at_high_precision(model):
    """The solver's bracket (kernel log_bracket: refined lower and matching upper bound) encloses the root."""
    import random

    from symscale.kernels.codegen import kernel_definitions

    mp.mp.dps = 40
    kernel = next(k for k in kernel_definitions() if k.name == "log_bracket")
    bracket = sp.lambdify(kernel.args, list(kernel.outputs[:2]), "mpmath")
    g = sp.lambdify((s.D, s.loss, s.rho, *s.COEFFICIENTS), model.reduced, "mpmath")
    d_chin = sp.lambdify((s.loss, *s.COEFFICIENTS), s.chinchilla().tokens_of_loss, "mpmath")
    rng = random.Random(2)
    for _ in range(200):
        a, b = mp.mpf(rng.uniform(0.05, 2)), mp.mpf(rng.uniform(0.05, 2))
        A, B, E = mp.mpf(rng.uniform(1, 1e3)), mp.mpf(rng.uniform(1, 1e3)), mp.mpf(rng.uniform(0, 3))
        loss = E + mp.mpf(10) ** rng.uniform(-3, 1)
        rho = mp.mpf(10) ** rng.uniform(-5, 20)
        lower, upper = bracket(mp.log(d_chin(loss, a, b, A, B, E)), rho, a, b, A, B, E)
        assert lower <= upper
        assert g(mp.exp(lower), loss, rho, a, b, A, B, E) >= 0
        assert g(mp.exp(upper), loss, rho, a, b, A, B, E) <= 0
