"""The sympy model: the only place the mathematics of symscale is written down.

Everything is derived from the law ``L(N, D) = E + A/N**alpha + B/D**beta`` and the objective
``k_train*N*D + k_inf*N``: the Lagrangian, its gradients (paper Eqs. 8, 9), the KKT system
(Eq. 10), the elimination of lambda (Eq. 11), the reduced equation in D (Eq. 12), Chinchilla's
closed forms and the bordered Hessian. The paper's printed forms are kept beside the derived ones
(``PAPER``) so tests and ``check-proof`` can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

# --- symbols -------------------------------------------------------------------------------
N, D = sp.symbols("N D", positive=True)              # parameters, training tokens
lam = sp.Symbol("lam", real=True)                    # Lagrange multiplier
alpha, beta, A, B = sp.symbols("alpha beta A B", positive=True)
E = sp.Symbol("E", nonnegative=True)
loss = sp.Symbol("loss", positive=True)              # target loss (the paper's ell)
k_train, k_inf = sp.symbols("k_train k_inf", positive=True)
rho = sp.Symbol("rho", nonnegative=True)             # k_inf / k_train, in tokens
D_inf = sp.Symbol("D_inf", nonnegative=True)         # lifetime inference tokens
C = sp.Symbol("C", positive=True)                    # training compute budget (FLOPs)
x = sp.Symbol("x", real=True)                        # ln D
P = sp.Symbol("P", positive=True)                    # the parameter term A/N**alpha
# cost objective (paper Eq. 6): dollars per FLOP at peak, utilisations, lifetime tokens
c_train, c_inf = sp.symbols("c_train c_inf", positive=True)
mfu_train, mfu_prefill, mfu_decode = sp.symbols("mfu_train mfu_prefill mfu_decode", positive=True)
D_input, D_output = sp.symbols("D_input D_output", nonnegative=True)

COEFFICIENTS = (alpha, beta, A, B, E)

# --- the law and the objectives ------------------------------------------------------------
law = E + A * N**-alpha + B * D**-beta
objective = k_train * N * D + k_inf * N

COMPUTE_WEIGHTS = {
    k_train: sp.Integer(TRAIN_FLOPS_PER_PARAM_TOKEN),
    k_inf: INFERENCE_FLOPS_PER_PARAM_TOKEN * D_inf,
}
"""Paper Eq. 3: 6 FLOPs per parameter per training token, 2 per inference token."""

COST_WEIGHTS = {
    k_train: TRAIN_FLOPS_PER_PARAM_TOKEN * c_train / mfu_train,
    k_inf: INFERENCE_FLOPS_PER_PARAM_TOKEN * c_inf * (D_input / mfu_prefill + D_output / mfu_decode),
}
"""Paper Eq. 6: FLOPs priced at dollars per FLOP and divided by the utilisation of each phase."""


def weights(objective_name: str) -> dict:
    """The substitution for k_train, k_inf of the named objective ('compute' or 'cost')."""
    return {"compute": COMPUTE_WEIGHTS, "cost": COST_WEIGHTS}[objective_name]


# --- derivations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """The derived pieces of the inference-aware problem, all sympy expressions."""

    lagrangian: sp.Expr
    grad_objective: sp.Matrix      # Eq. 8
    grad_law: sp.Matrix            # Eq. 9
    kkt: tuple                     # Eq. 10, three sympy Eq
    lam_solution: sp.Expr          # lambda from the D-equation
    param_term: sp.Expr            # Eq. 11: A/N**alpha as a function of D
    reduced: sp.Expr               # Eq. 12: g(D) = 0
    reduced_k1: sp.Expr            # coefficient of D**-beta in g
    reduced_k2: sp.Expr            # coefficient of D**(-beta-1) in g
    reduced_log: sp.Expr           # ln(g(D) - (E - loss)) - ln(loss - E) in x = ln D
    params_of_tokens: sp.Expr      # N from Eq. 11
    bordered_hessian: sp.Matrix


@lru_cache(maxsize=1)
def derive() -> Model:
    """Derive the whole system from the law and the objective (cached: takes about a second)."""
    lagrangian = objective - lam * (law - loss)
    grad_objective = sp.Matrix([sp.diff(objective, N), sp.diff(objective, D)])
    grad_law = sp.Matrix([sp.diff(law, N), sp.diff(law, D)])
    kkt = (
        sp.Eq(grad_objective[0], lam * grad_law[0]),
        sp.Eq(grad_objective[1], lam * grad_law[1]),
        sp.Eq(law, loss),
    )
    lam_solution = sp.solve(kkt[1], lam)[0]
    # Eliminate lambda, then write N through the parameter term P = A/N**alpha and solve for P.
    stationarity_n = kkt[0].subs(lam, lam_solution)
    in_p = stationarity_n.subs(N, (A / P) ** (1 / alpha))
    param_term = sp.solve(in_p, P)[0]
    param_term = sp.factor(param_term.subs(k_inf, rho * k_train))
    reduced = sp.expand(law.subs(N, (A / P) ** (1 / alpha)).subs(P, param_term) - loss)
    shifted = sp.expand(sp.powsimp(sp.expand((reduced - (E - loss)) * D**beta), force=True))
    k2 = sp.simplify(-sp.diff(shifted, D) * D**2)
    k1 = sp.simplify(shifted - k2 / D)
    reduced_log = sp.log(k1 + k2 * sp.exp(-x)) - beta * x - sp.log(loss - E)
    params_of_tokens = (A / param_term) ** (1 / alpha)
    bordered = _bordered_hessian(lagrangian)
    return Model(
        lagrangian, grad_objective, grad_law, kkt, lam_solution, param_term, reduced, k1, k2,
        reduced_log, params_of_tokens, bordered,
    )


def _bordered_hessian(lagrangian: sp.Expr) -> sp.Matrix:
    """Bordered Hessian of the Lagrangian; at a constrained minimum its determinant is negative."""
    g = law - loss
    variables = (N, D)
    border = [sp.diff(g, v) for v in variables]
    rows = [[sp.Integer(0), *border]]
    for i, vi in enumerate(variables):
        rows.append([border[i], *[sp.diff(lagrangian, vi, vj) for vj in variables]])
    return sp.Matrix(rows)


@dataclass(frozen=True)
class Chinchilla:
    """Closed forms of the training-compute-optimal model (no inference demand)."""

    tokens_of_loss: sp.Expr
    params_of_loss: sp.Expr
    params_of_tokens: sp.Expr
    tokens_of_params: sp.Expr
    params_of_compute: sp.Expr
    tokens_of_compute: sp.Expr


@lru_cache(maxsize=1)
def chinchilla() -> Chinchilla:
    """Derive Chinchilla's closed forms as the rho = 0 case of the model."""
    model = derive()
    tokens_of_loss = sp.solve(model.reduced.subs(rho, 0), D)[0]
    params_of_tokens = sp.powsimp(sp.simplify(model.params_of_tokens.subs(rho, 0)), force=True)
    # On the log scale the Chinchilla path is linear: ln N = ln K + (beta/alpha) ln D.
    u, v, w = sp.symbols("u v w", real=True)
    log_path = sp.Eq(u, sp.expand_log(sp.log(params_of_tokens.subs(D, sp.exp(v))), force=True))
    tokens_of_params = sp.exp(sp.solve(log_path, v)[0]).subs(u, sp.log(N))
    budget = sp.Eq(u + v, w)  # ln N + ln D = ln(C / k_train)
    sol = sp.solve([log_path, budget], [u, v], dict=True)[0]
    ln_budget = sp.log(C / TRAIN_FLOPS_PER_PARAM_TOKEN)
    return Chinchilla(
        tokens_of_loss=tokens_of_loss,
        params_of_loss=params_of_tokens.subs(D, tokens_of_loss),
        params_of_tokens=params_of_tokens,
        tokens_of_params=sp.powsimp(sp.simplify(tokens_of_params), force=True),
        params_of_compute=sp.powsimp(sp.exp(sol[u].subs(w, ln_budget)), force=True),
        tokens_of_compute=sp.powsimp(sp.exp(sol[v].subs(w, ln_budget)), force=True),
    )


# --- the bracket of the root and the iso-loss curve -----------------------------------------
ln_d_chin = sp.Symbol("ln_d_chin", real=True)   # ln of Chinchilla's D for the same loss


@dataclass(frozen=True)
class Bracket:
    """ln-scale bounds of D* in terms of ln D_chin (tests prove them; solver and verifier share them).

    At the root, (D/D_chin)**beta = 1 + s/D with s = k2/k1; hence D >= D_chin, D >= (s*D_chin**beta)**(1/(1+beta)),
    and D <= D_chin*(1 + s/lower)**(1/beta) for any valid lower bound.
    """

    ln_lower: sp.Expr           # refined lower bound
    ln_upper: sp.Expr           # upper bound matching the refined lower bound
    ln_upper_design: sp.Expr    # the design notes' bound D_chin*(1 + s/D_chin)**(1/beta)


@lru_cache(maxsize=1)
def bracket() -> Bracket:
    """The closed-form bracket of the root of Eq. 12, built from Eq. 12's own coefficients."""
    model = derive()
    s_tokens = sp.simplify(model.reduced_k2 / model.reduced_k1)   # beta*rho/(alpha + beta)
    ln_lower = ln_d_chin + sp.Max(0, (sp.log(s_tokens) - ln_d_chin) / (1 + beta))
    return Bracket(
        ln_lower=ln_lower,
        ln_upper=ln_d_chin + sp.log(1 + s_tokens * sp.exp(-ln_lower)) / beta,
        ln_upper_design=ln_d_chin + sp.log(1 + s_tokens * sp.exp(-ln_d_chin)) / beta,
    )


@lru_cache(maxsize=1)
def iso_loss() -> tuple[sp.Expr, sp.Expr]:
    """(D of N, N of D) on the curve L(N, D) = loss: Eq. 1 solved for each size."""
    constraint = sp.Eq(law, loss)
    return sp.solve(constraint, D)[0], sp.solve(constraint, N)[0]


# --- the paper's printed forms (for comparison only) ---------------------------------------
PAPER = {
    "eq8": sp.Matrix([6 * D + 2 * D_inf, 6 * N]),
    "eq9": sp.Matrix([-alpha * A * N ** (-alpha - 1), -beta * B * D ** (-beta - 1)]),
    "eq10": (
        sp.Eq(6 * D + 2 * D_inf, -lam * alpha * A * N ** (-alpha - 1)),
        sp.Eq(6 * N, -lam * beta * B * D ** (-beta - 1)),
        sp.Eq(E + A / N**alpha + B / D**beta, loss),
    ),
    "eq11": (3 * beta * B * D**-beta + D_inf * beta * B * D ** (-beta - 1)) / (3 * alpha),
    "eq12": (E - loss) + (beta * B / alpha + B) * D**-beta + D_inf * beta * B / (3 * alpha) * D ** (-beta - 1),
}
"""Eqs. 8-12 of Sardana et al. (2024) as printed (compute objective, D_tr written D)."""


def compute_instance(expr):
    """Specialise an expression of the general objective to the compute objective (paper Eq. 3)."""
    rho_compute = COMPUTE_WEIGHTS[k_inf] / COMPUTE_WEIGHTS[k_train]
    return sp.sympify(expr).subs(rho, rho_compute).subs(COMPUTE_WEIGHTS)


# --- typesetting ---------------------------------------------------------------------------
def _roman(name: str) -> str:
    return rf"\mathrm{{{name}}}"


LATEX_NAMES = {
    lam: r"\lambda", loss: _roman("loss"), D_inf: rf"D_{{{_roman('inf')}}}",
    k_train: rf"k_{{{_roman('train')}}}", k_inf: rf"k_{{{_roman('inf')}}}",
    c_train: rf"c_{{{_roman('train')}}}", c_inf: rf"c_{{{_roman('inf')}}}",
    mfu_train: rf"{_roman('MFU')}_{{{_roman('train')}}}", mfu_prefill: rf"{_roman('MFU')}_{{{_roman('prefill')}}}",
    mfu_decode: rf"{_roman('MFU')}_{{{_roman('decode')}}}",
    D_input: rf"D_{{{_roman('input')}}}", D_output: rf"D_{{{_roman('output')}}}",
    ln_d_chin: rf"\ln D_{{{_roman('chin')}}}",
}
"""LaTeX for the multi-letter symbols (sympy would set 'loss' as a product of italic letters)."""


def latex(expr, **options) -> str:
    """LaTeX of a model expression with proper names (\\lambda, \\mathrm{loss}, D_{\\mathrm{inf}}), for pdflatex."""
    names = dict(LATEX_NAMES)
    free = getattr(sp.sympify(expr), "free_symbols", set()) if not isinstance(expr, (tuple, list)) else set()
    for symbol in free:
        if symbol not in names and "_" in symbol.name:
            head, _, tail = symbol.name.partition("_")
            names[symbol] = rf"{head}_{{{_roman(tail.replace('_', ' '))}}}"
    return sp.latex(expr, symbol_names=names, **options)
