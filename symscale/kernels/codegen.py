"""Generate ``symscale/kernels/chinchilla.py`` (numpy functions) from the sympy model.

Run ``python -m symscale.codegen`` after changing ``problems/chinchilla.py``; a test regenerates the module
and fails on any difference, so the numeric code can never drift from the mathematics.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symscale.problems import chinchilla as s

KERNELS_PATH = Path(__file__).with_name("chinchilla.py")


@dataclass(frozen=True)
class Kernel:
    """One generated function: name, argument symbols, output expressions, docstring."""

    name: str
    args: tuple
    outputs: tuple
    doc: str


def kernel_definitions() -> list[Kernel]:
    """Every numeric kernel, each an expression taken from the symbolic model."""
    model, chin = s.derive(), s.chinchilla()
    coeffs = s.COEFFICIENTS
    g_log = model.reduced_log
    ln_d_chin = sp.solve(sp.Eq(g_log.subs(s.rho, 0), 0), s.x)[0]
    bounds = s.bracket()
    tokens_on_constraint, params_on_constraint = s.iso_loss()
    log_n = sp.expand_log(sp.log(model.params_of_tokens), force=True)
    kkt = [eq.lhs - eq.rhs for eq in model.kkt]
    kkt_vars = (s.N, s.D, s.lam)
    jac = sp.Matrix(kkt).jacobian(kkt_vars)
    kkt_args = (*kkt_vars, s.loss, s.k_train, s.k_inf, *coeffs)
    return [
        Kernel("law", (s.N, s.D, *coeffs), (s.law,), "Loss L(N, D) of the law (paper Eq. 1)."),
        Kernel("reduced", (s.D, s.loss, s.rho, *coeffs), (model.reduced,),
               "Residual g(D) of the reduced equation (paper Eq. 12)."),
        Kernel("reduced_log", (s.x, s.loss, s.rho, *coeffs), (g_log, sp.diff(g_log, s.x)),
               "Eq. 12 on a log scale, G(x) = ln((g - (E - loss)) / (loss - E)) at x = ln D, and dG/dx.\n\n"
               "    G has the root of g, and is convex and decreasing in x."),
        Kernel("log_params_of_tokens", (s.D, s.rho, *coeffs), (log_n,),
               "ln N* from Eq. 11 given D* (the stationarity conditions with lambda eliminated)."),
        Kernel("log_chinchilla_tokens", (s.loss, *coeffs), (ln_d_chin,),
               "ln D of the Chinchilla-optimal model reaching `loss` (the root of Eq. 12 at rho = 0)."),
        Kernel("log_bracket", (s.ln_d_chin, s.rho, *coeffs),
               (bounds.ln_lower, bounds.ln_upper, bounds.ln_upper_design),
               "ln of the bracket of D*: refined lower bound, matching upper bound, and the design-notes\n\n"
               "    upper bound D_chin*(1 + rho*beta/((alpha+beta)*D_chin))**(1/beta)."),
        Kernel("log_chinchilla_params_of_tokens", (s.D, *coeffs),
               (sp.expand_log(sp.log(chin.params_of_tokens), force=True),),
               "ln N of the Chinchilla-optimal model trained on D tokens."),
        Kernel("log_chinchilla_tokens_of_params", (s.N, *coeffs),
               (sp.expand_log(sp.log(chin.tokens_of_params), force=True),),
               "ln D of the Chinchilla-optimal model with N parameters."),
        Kernel("log_chinchilla_of_compute", (s.C, *coeffs),
               (sp.expand_log(sp.log(chin.params_of_compute), force=True),
                sp.expand_log(sp.log(chin.tokens_of_compute), force=True)),
               "ln N and ln D of the Chinchilla-optimal model for a training budget of C FLOPs."),
        Kernel("tokens_on_constraint", (s.N, s.loss, *coeffs), (tokens_on_constraint,),
               "Training tokens D with L(N, D) = loss (Eq. 1 solved for D; NaN where N alone is too small)."),
        Kernel("params_on_constraint", (s.D, s.loss, *coeffs), (params_on_constraint,),
               "Parameters N with L(N, D) = loss (Eq. 1 solved for N; NaN where D alone is too small)."),
        Kernel("kkt_residual", kkt_args, tuple(kkt), "The KKT system (paper Eq. 10) as residuals lhs - rhs."),
        Kernel("kkt_jacobian", kkt_args, tuple(jac), "Jacobian of the KKT residuals in (N, D, lam), row-major."),
        *_cost_kernels(),
    ]


def _cost_kernels() -> list[Kernel]:
    """The cost objective's weights (paper Eq. 6) and their prefill / decode parts, from symbolic.COST_WEIGHTS."""
    k_tr, k_in = s.COST_WEIGHTS[s.k_train], s.COST_WEIGHTS[s.k_inf]
    args = (s.c_train, s.c_inf, s.mfu_train, s.mfu_prefill, s.mfu_decode, s.D_input, s.D_output)
    parts = (k_in.subs(s.D_output, 0), k_in.subs(s.D_input, 0))
    return [
        Kernel("cost_weights", args, (k_tr, k_in),
               "Dollar weights (k_train, k_inf) of the cost objective k_train*N*D + k_inf*N (paper Eq. 6)."),
        Kernel("cost_weight_parts", args, parts,
               "The prefill (input-token) and decode (output-token) parts of k_inf; they sum to k_inf."),
    ]


def render_kernel(kernel: Kernel, printer: NumPyPrinter) -> str:
    """Source of one kernel: common subexpressions as assignments, then the return value(s)."""
    names = ", ".join(str(a) for a in kernel.args)
    replacements, reduced = sp.cse(list(kernel.outputs), symbols=sp.numbered_symbols("t"), optimizations="basic")
    lines = [f"def {kernel.name}({names}):", f'    """{kernel.doc}"""']
    lines += [f"    {sym} = {printer.doprint(expr)}" for sym, expr in replacements]
    outs = [printer.doprint(expr) for expr in reduced]
    lines.append(f"    return {outs[0]}" if len(outs) == 1 else f"    return ({', '.join(outs)})")
    return "\n".join(lines)


def render_module(kernels: list[Kernel], command: str, source: str, summary: str, test: str) -> str:
    """Text of a generated kernels module: a header naming its generator, then every kernel."""
    printer = NumPyPrinter({"fully_qualified_modules": True})
    header = (
        f'"""GENERATED by `{command}` from {source} -- do not edit.\n\n'
        f"{summary}\n{test} regenerates this file and fails on any difference.\n"
        '"""\n\n'
        f'SYMPY_VERSION = "{sp.__version__}"\n\n'
        "import functools  # noqa: F401  (used by generated Max)\n\nimport numpy\n"
    )
    body = "\n\n\n".join(render_kernel(k, printer) for k in kernels)
    return header + "\n\n" + body + "\n"


def render() -> str:
    """Text of the generated kernels module."""
    return render_module(kernel_definitions(), "python -m symscale.codegen", "symscale/problems/chinchilla.py",
                         "Numeric kernels (numpy, vectorised) lambdified from the sympy model;",
                         "tests/test_kernels.py")


# --- kernels of the other built-in laws -------------------------------------------------------
LAWS_DIR = Path(__file__).parent / "generated"


def law_kernel_definitions(law) -> list[Kernel]:
    """The kernels of a law's lifetime problem (symscale.problems.generic.kernel_outputs) as Kernel records."""
    from symscale.problems.generic import kernel_outputs

    docs = {
        "loss": "Loss L(N, D) of the law.",
        "elasticities": "(a_N, a_D) = (-N dL/dN, -D dL/dD).",
        "system": "(F1, F2) and their Jacobian in (ln N, ln D), row-major: the lifetime optimum's system.",
        "along_curve": "dF2/d ln D along the iso-loss curve (> 0 at a minimum).",
    }
    return [Kernel(name, args, tuple(outputs), docs[name]) for name, (args, outputs) in kernel_outputs(law).items()]


def render_law(law) -> str:
    """Text of the committed kernel module of one built-in law."""
    return render_module(law_kernel_definitions(law), "python -m symscale.codegen", f"the law {law.name} "
                         "(symscale/laws/registry.py) through symscale/problems/generic.py",
                         f"Numeric kernels of the law {law.name}: {law.formula};", "tests/test_kernels.py")


def modules() -> dict[Path, object]:
    """Every committed generated module and the function that renders it (one command writes them all)."""
    from symscale.kernels import planning_codegen
    from symscale.kernels.generic import GENERATED
    from symscale.laws.registry import get
    from symscale.problems import fit as fit_symbolic

    table = {KERNELS_PATH: render, planning_codegen.KERNELS_PATH: planning_codegen.render,
             fit_symbolic.KERNELS_PATH: fit_symbolic.render_module}
    for name, module in GENERATED.items():
        table[LAWS_DIR / f"{module}.py"] = functools.partial(render_law, get(name))
    return table


def main() -> None:
    """Write every generated module: symscale/kernels/chinchilla.py, kernels/planning.py, kernels/fit.py,
    kernels/generated/*."""
    from symscale.base.files import write_text_atomic

    LAWS_DIR.mkdir(exist_ok=True)
    for path, make in modules().items():
        write_text_atomic(path, make())
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
