"""Symbolic model of the fitting objective (paper Eq. 4); writes the numeric kernels in kernels/fit.py.

Run ``python -m symscale.codegen`` to regenerate ``symscale/kernels/fit.py`` after changing this
file; ``tests/test_fit.py`` fails if the checked-in kernels drift from what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

#: Fitted parameters, in the order used by every kernel: A = exp(a), B = exp(b), E = exp(e).
PARAMS = ("a", "b", "e", "alpha", "beta")
#: Per-run data: x = ln N, y = ln D, z = ln L.
DATA = ("x", "y", "z")

KERNELS_PATH = Path(__file__).parent.parent / "kernels" / "fit.py"
COMMAND = "python -m symscale.codegen"


def symbols() -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...], sp.Symbol]:
    """The parameter symbols, the data symbols and the log-sum-exp shift m (all real)."""
    theta = sp.symbols(PARAMS, real=True)
    data = sp.symbols(DATA, real=True)
    return theta, data, sp.Symbol("m", real=True)


def exponents() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The three LSE arguments: ln(A/N**alpha), ln(B/D**beta), ln E."""
    (a, b, e, alpha, beta), (x, y, _), _ = symbols()
    return a - alpha * x, b - beta * y, e


def residual() -> sp.Expr:
    """r = LSE(u1, u2, u3) - ln L, written with a shift m so that no exponential can overflow."""
    _, (_, _, z), m = symbols()
    return m + sp.log(sum(sp.exp(u - m) for u in exponents())) - z


def check_shift_invariance() -> None:
    """Prove dr/dm == 0: the shift m is free, so derivatives may treat it as a constant."""
    _, _, m = symbols()
    if sp.simplify(sp.diff(residual(), m)) != 0:
        raise AssertionError("the shifted log-sum-exp depends on its shift")


def check_law() -> None:
    """Prove exp(r + ln L) equals the Chinchilla law E + A/N**alpha + B/D**beta."""
    (a, b, e, alpha, beta), (x, y, z), _ = symbols()
    law = sp.exp(e) + sp.exp(a) / sp.exp(x) ** alpha + sp.exp(b) / sp.exp(y) ** beta
    if sp.simplify(sp.exp(residual() + z) - law) != 0:
        raise AssertionError("the residual is not ln(law) - ln(L)")


def gradient() -> list[sp.Expr]:
    """dr/dtheta for theta = (a, b, e, alpha, beta)."""
    theta, _, _ = symbols()
    r = residual()
    return [sp.diff(r, t) for t in theta]


def hessian_upper() -> list[sp.Expr]:
    """The 15 entries d2r/dtheta_i dtheta_j, i <= j, row by row."""
    theta, _, _ = symbols()
    grad = gradient()
    return [sp.diff(grad[i], theta[j]) for i in range(5) for j in range(i, 5)]


def huber_expressions() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Huber_delta(r) and its first and (generalised) second derivative in r.

    The second derivative jumps at |r| = delta; the piecewise form takes the inside value there.
    """
    r, delta = sp.symbols("r delta", real=True)
    inside = sp.Abs(r) <= delta
    huber = sp.Piecewise((r**2 / 2, inside), (delta * (sp.Abs(r) - delta / 2), True))
    d1 = sp.Piecewise((r, inside), (delta * sp.sign(r), True))
    d2 = sp.Piecewise((sp.Integer(1), inside), (sp.Integer(0), True))
    for piece_f, piece_d in zip(huber.args, d1.args):  # check d1 piece by piece against diff(huber)
        if sp.simplify(sp.diff(piece_f[0], r) - piece_d[0]).subs(sp.Abs(r), r * sp.sign(r)) != 0:
            raise AssertionError("Huber derivative mismatch")
    return huber, d1, d2


def _printer() -> sp.printing.numpy.NumPyPrinter:
    """Numpy code printer using the module alias ``np``."""
    from sympy.printing.numpy import NumPyPrinter

    class _Printer(NumPyPrinter):
        _module = "np"

        def _module_format(self, fqn: str, register: bool = True) -> str:
            return (
                "np." + fqn.split(".", 1)[1]
                if fqn.startswith("numpy.")
                else super()._module_format(fqn, register)
            )

        def _print_Piecewise(self, expr: sp.Piecewise) -> str:
            """Nested np.where (cheaper than np.select); the last piece must be unconditional."""
            (value, cond), rest = expr.args[0], expr.args[1:]
            other = rest[0][0] if len(rest) == 1 and rest[0][1] == sp.true else sp.Piecewise(*rest)
            return f"np.where({self._print(cond)}, {self._print(value)}, {self._print(other)})"

    return _Printer({"fully_qualified_modules": True, "allow_unknown_functions": False})


def _function(name: str, doc: str, args: str, exprs: list[sp.Expr], shifted: bool) -> str:
    """Source of one numpy function returning ``exprs`` (common subexpressions shared)."""
    printer = _printer()
    lines = [f"def {name}({args}):", f'    """{doc}"""']
    if shifted:
        u1, u2, u3 = (printer.doprint(u) for u in exponents())
        lines.append(f"    m = np.maximum(np.maximum({u1}, {u2}), {u3})")
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("t"), optimizations="basic")
    for sym, expr in replacements:
        lines.append(f"    {sym} = {printer.doprint(expr)}")
    outputs = [printer.doprint(expr) for expr in reduced]
    if len(outputs) == 1:
        lines.append(f"    return {outputs[0]}")
    else:
        lines.append("    return (")
        lines.extend(f"        {out}," for out in outputs)
        lines.append("    )")
    return "\n".join(lines)


def render_module() -> str:
    """The full source of kernels/fit.py, generated from the expressions above."""
    check_shift_invariance()
    check_law()
    huber, d1, d2 = huber_expressions()
    args = "a, b, e, alpha, beta, x, y, z"
    r = residual()
    parts = [
        f'"""GENERATED by `{COMMAND}` from symscale/problems/fit.py -- do not edit by hand.',
        "",
        "Kernels for the fit of paper Eq. 4: per-run residual r = LSE(a - alpha*x, b - beta*y, e) - z",
        "with x = ln N, y = ln D, z = ln L, its gradient and Hessian in (a, b, e, alpha, beta), and the",
        "Huber function with its derivatives. All arguments broadcast as numpy arrays.",
        '"""',
        "",
        "import numpy as np",
        "",
        "",
        _function("residual", "Per-run residual r (ln predicted loss - ln observed loss).", args, [r], True),
        "",
        "",
        _function(
            "residual_gradient",
            "r and its five partial derivatives in (a, b, e, alpha, beta).",
            args,
            [r, *gradient()],
            True,
        ),
        "",
        "",
        _function(
            "residual_hessian",
            "r, its gradient (5) and the upper triangle of its Hessian (15, row by row).",
            args,
            [r, *gradient(), *hessian_upper()],
            True,
        ),
        "",
        "",
        _function(
            "huber",
            "Huber_delta(r): quadratic inside |r| <= delta, linear outside.",
            "r, delta",
            [huber],
            False,
        ),
        "",
        "",
        _function(
            "huber_d1",
            "First derivative of Huber_delta in r (r clipped to [-delta, delta]).",
            "r, delta",
            [d1],
            False,
        ),
        "",
        "",
        _function(
            "huber_d2",
            "Generalised second derivative of Huber_delta (1 inside, 0 outside).",
            "r, delta",
            [d2],
            False,
        ),
        "",
    ]
    return "\n".join(parts)


def write_module(path: Path = KERNELS_PATH) -> Path:
    """Regenerate the kernels file."""
    from symscale.base.files import write_text_atomic

    write_text_atomic(path, render_module())
    return path


def main() -> None:
    """Entry point of ``python -m symscale.codegen``."""
    target = write_module(Path(sys.argv[1]) if len(sys.argv) > 1 else KERNELS_PATH)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
