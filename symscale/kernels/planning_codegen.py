"""Generate ``symscale/kernels/planning.py`` (numpy functions) from ``problems/planning.py``.

Run ``python -m symscale.codegen`` after changing ``problems/planning.py``;
``tests/test_planning.py`` regenerates the module and fails on any difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

from symscale.kernels.codegen import Kernel, render_module
from symscale.problems import chinchilla as s
from symscale.problems import planning as ps

KERNELS_PATH = Path(__file__).with_name("planning.py")
COMMAND = "python -m symscale.codegen"


def _budget_kernels() -> list[Kernel]:
    m, path = ps.budget_model(), ps.path_model()
    coeffs = s.COEFFICIENTS
    return [
        Kernel("budget_log", (s.x, ps.budget, s.k_train, s.rho, *coeffs), (m.reduced_log, m.reduced_log_slope),
               "Budget problem: h(x) at x = ln D (zero at the optimum, increasing in x) and dh/dx."),
        Kernel("budget_start", (ps.budget, s.k_train, *coeffs), (m.start_log_tokens,),
               "Root of h at rho = 0: ln D of Chinchilla's compute-optimal model for the budget."),
        Kernel("log_params_of_budget", (s.D, ps.budget, s.k_train, s.rho), (sp.log(m.params_of_budget),),
               "ln N from the budget constraint, given D."),
        Kernel("path_log_params", (s.x, s.rho, *coeffs), (path.log_params, path.log_params_slope),
               "ln N* along the optimal path (Eq. 11) at x = ln D, and its slope in x (positive)."),
        Kernel("path_log_budget", (s.x, s.k_train, s.rho, *coeffs), (path.log_budget,),
               "ln of the lifetime budget k_train*N*(D + rho) spent by the optimum with ln D = x."),
    ]


def _overhead_kernels() -> list[Kernel]:
    m = ps.overhead_model()
    alpha, beta, k, gap = s.alpha, s.beta, ps.fraction, ps.gap
    coeffs = s.COEFFICIENTS
    at_loss = {gap: s.loss - s.E}

    def log_of(expr: sp.Expr) -> sp.Expr:
        return sp.expand_log(sp.log(expr), force=True).subs(at_loss)

    return [
        Kernel("overhead_log_ratios", (k, alpha, beta), (m.log_token_ratio, m.log_compute_ratio),
               "ln(D_k/D_c) and ln(k*D_k/D_c) for a model k times the Chinchilla size (same loss)."),
        Kernel("log_fraction_tokens", (k, s.loss, *coeffs), (log_of(m.tokens),),
               "ln of the tokens that bring k*N_c to the Chinchilla model's loss."),
        Kernel("log_min_params", (s.loss, *coeffs), (log_of(m.min_params),),
               "ln of the smallest model reaching `loss` with unlimited data."),
        Kernel("critical_fraction", (alpha, beta), (m.critical_fraction,),
               "Fraction of the Chinchilla size below which no amount of data reaches the same loss."),
    ]


def _breakeven_kernels() -> list[Kernel]:
    m = ps.breakeven_model()
    coeffs = s.COEFFICIENTS
    log_rho = m.log_rho_of_size_ratio.subs(ps.gap, s.loss - s.E)
    return [
        Kernel("log_breakeven_rho_of_size", (ps.fraction, s.loss, *coeffs), (log_rho,),
               "ln rho (= ln(k_inf/k_train)) at which the optimum has k times the Chinchilla params."),
        Kernel("saving", (s.N, s.D, ps.N_c, ps.D_c, s.rho), (m.saving, m.saving_log_slope),
               "Saving of the optimum (N, D) over the Chinchilla-style (N_c, D_c), and d saving/d ln rho."),
        Kernel("max_saving", (s.alpha, s.beta), (m.max_saving,),
               "Supremum of the saving over all demand (approached as demand grows, never reached)."),
    ]


def _sensitivity_kernels() -> list[Kernel]:
    m = ps.sensitivity_model()
    args = (s.N, s.D, ps.w, s.loss, s.k_train, s.k_inf, *s.COEFFICIENTS)
    return [
        Kernel("log_neg_multiplier", (s.N, s.D, s.k_train, *s.COEFFICIENTS), (m.log_multiplier,),
               "w = ln(-lam) of the KKT multiplier, from the D-stationarity equation."),
        Kernel("kkt_log_residual", args, tuple(m.residual),
               "Scaled KKT residuals (paper Eq. 10) with lam = -exp(w)."),
        Kernel("kkt_log_jacobian", args, tuple(m.jacobian),
               "d residual / d(ln N, ln D, w), row-major 3x3."),
        Kernel("kkt_log_parameters", args, tuple(m.parameters),
               "d residual / d(alpha, beta, A, B, E, ln k_inf), row-major 3x6."),
    ]


def kernel_definitions() -> list[Kernel]:
    """Every planning kernel, each an expression taken from the symbolic model."""
    return _budget_kernels() + _overhead_kernels() + _breakeven_kernels() + _sensitivity_kernels()


def render() -> str:
    """Text of the generated planning kernels module."""
    return render_module(kernel_definitions(), COMMAND, "symscale/problems/planning.py",
                         "Numeric kernels (numpy, vectorised) for budgets, break-even demand, overhead and "
                         "sensitivities;", "tests/test_planning.py")


def main() -> None:
    """Write symscale/kernels/planning.py."""
    from symscale.base.files import write_text_atomic

    write_text_atomic(KERNELS_PATH, render())
    print(f"wrote {KERNELS_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
