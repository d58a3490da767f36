"""A whitelisting parser for law formulas: Python's ``ast`` walked node by node into sympy.

Nothing of the text is ever evaluated: only numbers, the variables N, D, U, declared coefficient
names, ``+ - * / **``, unary signs and the functions exp, log, sqrt, min, max are accepted.
"""

from __future__ import annotations

import ast
import math

import sympy as sp

from symscale.base.errors import InputError

VARIABLES = ("N", "D", "U")
FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "min": sp.Min, "max": sp.Max}
MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_LITERAL = 1e300
MAX_POWER_EXPONENT = 64


def _fail(text: str, why: str) -> InputError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InputError(f"law {shown!r}: {why}")


def names_in(text: str) -> list[str]:
    """The coefficient names a formula uses (every name that is not a variable or a function), in order."""
    tree = _syntax(text)
    names = sorted((node.col_offset, node.id) for node in ast.walk(tree)
                   if isinstance(node, ast.Name) and node.id not in VARIABLES and node.id not in FUNCTIONS)
    return list(dict.fromkeys(name for _, name in names))


def _syntax(text: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip():
        raise InputError("law: empty formula; write it in N and D, e.g. 'E + A/N**alpha + B/D**beta'")
    if len(text) > MAX_LENGTH:
        raise _fail(text, f"formula longer than {MAX_LENGTH} characters")
    if not text.isascii():
        raise _fail(text, "only ASCII characters are allowed")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _fail(text, f"syntax error at column {exc.offset or 0}") from None
    except (ValueError, RecursionError, MemoryError):
        raise _fail(text, "cannot be parsed") from None


def parse(text: str, coefficients: tuple[str, ...] | list[str]) -> sp.Expr:
    """The sympy expression of ``text``; ``coefficients`` are the names it may use besides N, D, U.

    Variables and coefficients become positive real symbols. Any other construct is refused with
    one line naming it; the text is never passed to ``eval``, ``sympify`` or ``parse_expr``.
    """
    tree = _syntax(text)
    allowed = set(coefficients)
    symbols = {name: sp.Symbol(name, positive=True) for name in (*VARIABLES, *coefficients)}

    def walk(node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise _fail(text, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Expression):
            return walk(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            return _number(node.value)
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _fail(text, f"name {node.id!r} is not allowed")
            if node.id in FUNCTIONS:
                raise _fail(text, f"{node.id} is a function: call it, e.g. {node.id}(N)")
            if node.id not in VARIABLES and node.id not in allowed:
                raise _fail(text, f"unknown name {node.id!r} (variables: N, D, U; coefficients: "
                                  f"{', '.join(coefficients) or 'none declared'})")
            return symbols[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            left, right = walk(node.left, depth + 1), walk(node.right, depth + 1)
            return _binary(node.op, left, right)
        if isinstance(node, ast.Call):
            return _call(node, depth)
        raise _fail(text, f"{type(node).__name__} is not allowed (only numbers, N, D, U, coefficients, "
                          "+ - * / **, exp, log, sqrt, min, max)")

    def _number(value: object) -> sp.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(text, f"{value!r} is not a number")
        if isinstance(value, int) and abs(value) > MAX_LITERAL:
            raise _fail(text, "a number is too large")
        if not math.isfinite(float(value)) or abs(float(value)) > MAX_LITERAL:
            raise _fail(text, f"{value!r} is not a finite number of at most {MAX_LITERAL:g}")
        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)

    def _binary(op: ast.operator, left: sp.Expr, right: sp.Expr) -> sp.Expr:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right.is_zero:
                raise _fail(text, "division by zero")
            return left / right
        if right.is_number and abs(float(right)) > MAX_POWER_EXPONENT:
            raise _fail(text, f"a constant exponent above {MAX_POWER_EXPONENT} in absolute value")
        if left.is_number and right.is_number:
            value = float(left) ** float(right) if float(left) > 0 else math.nan
            if not math.isfinite(value) or abs(value) > MAX_LITERAL:
                raise _fail(text, "a constant power is not a finite positive number")
        return left**right

    def _call(node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            raise _fail(text, f"call of {shown!r} is not allowed (functions: {', '.join(FUNCTIONS)})")
        if node.keywords:
            raise _fail(text, "keyword arguments are not allowed")
        name = node.func.id
        count = len(node.args)
        if (name in ("min", "max") and count < 2) or (name not in ("min", "max") and count != 1):
            raise _fail(text, f"{name} takes {'two or more arguments' if name in ('min', 'max') else 'one argument'}")
        args = [walk(arg, depth + 1) for arg in node.args]
        return FUNCTIONS[name](*args)

    try:
        return walk(tree, 0)
    except RecursionError:
        raise _fail(text, "nested too deeply") from None
