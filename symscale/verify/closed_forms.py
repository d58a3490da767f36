"""Rational beta = p/q: Eq. 12 as a polynomial in t = D**(-1/q), its radicals and its Galois group.

With ``t = D**(-1/q)`` the reduced equation ``(E - loss) + k1*D**-beta + k2*D**(-beta-1) = 0``
becomes the trinomial ``k2*t**(p+q) + k1*t**p + (E - loss)`` of degree ``p + q``. Its coefficients
have signs (+, +, -) for a reachable loss, so by Descartes' rule it has exactly one positive root
t*, and D* = t***(-q) is the optimum. Degree <= 4 is solved in radicals by sympy; for degree 5 and
6 sympy computes the Galois group of the exact instance, which decides whether any expression in
radicals exists. Inputs are made exact rationals from the decimal they print as (``repr`` of the
float, e.g. 406.4 -> 2032/5), so the instance is the one the user typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import sympy as sp

from symscale.base.errors import InputError
from symscale.problems import chinchilla as S

MAX_DENOMINATOR = 1000
"""Largest denominator q accepted for beta = p/q (degree p + q); 0.283 = 283/1000 is the largest kept."""

SNAP_TOLERANCE = 1e-12
"""A decimal beta within this relative distance of a fraction with denominator <= MAX_DENOMINATOR snaps to it."""

FACTOR_LIMIT = 60
"""Above this degree the instance is not factored over Q (too slow to be worth it)."""

GALOIS_DEGREES = (5, 6)
"""Degrees for which sympy's galois_group decides solvability."""

t = sp.Symbol("t", positive=True)
"""t = D**(-1/q)."""


# --- parsing beta and exact inputs -----------------------------------------------------------
def parse_beta(text: str | float | int) -> tuple[sp.Rational, str]:
    """beta as an exact positive rational p/q from '1/2', '0.5', '2', ...; returns (beta, note on how it was read)."""
    raw = str(text).strip()
    try:
        if "/" in raw:
            num, den = raw.split("/", 1)
            value = Fraction(int(num.strip()), int(den.strip()))
        else:
            value = Fraction(raw)
    except ZeroDivisionError:
        raise InputError(f"beta {raw!r} divides by zero; give beta as p/q with q > 0, e.g. 1/2") from None
    except ValueError:
        raise InputError(
            f"beta {raw!r} is not a rational number; give it as p/q or a decimal, e.g. 1/2 or 0.5"
        ) from None
    if value <= 0:
        raise InputError(f"beta must be > 0, got {raw}")
    note = f"beta = {value.numerator}/{value.denominator}" if value.denominator > 1 else f"beta = {value.numerator}"
    if value.denominator > MAX_DENOMINATOR:
        snapped = value.limit_denominator(MAX_DENOMINATOR)
        if abs(snapped - value) > SNAP_TOLERANCE * value:
            raise InputError(
                f"beta {raw} is {value.numerator}/{value.denominator} as a fraction, a polynomial of degree "
                f"{value.numerator + value.denominator}; give beta as p/q with q <= {MAX_DENOMINATOR}"
            )
        note = (f"beta {raw} read as {snapped.numerator}/{snapped.denominator} "
                f"(denominator limited to {MAX_DENOMINATOR})")
        value = snapped
    if value.numerator > 10 * MAX_DENOMINATOR:
        raise InputError(f"beta {raw} is too large for a polynomial treatment (numerator above {10 * MAX_DENOMINATOR})")
    return sp.Rational(value.numerator, value.denominator), note


def exact(value: float | int | str) -> sp.Rational:
    """The exact rational of the decimal a number prints as (406.4 -> 2032/5)."""
    if isinstance(value, sp.Rational):
        return value
    return sp.Rational(repr(float(value)) if not isinstance(value, str) else value)


# --- the polynomial --------------------------------------------------------------------------
def trinomial(beta_value: sp.Rational) -> sp.Expr:
    """Eq. 12 of the symbolic model rewritten in t = D**(-1/q), still with symbolic loss, rho, alpha, A, B, E."""
    q = int(beta_value.q)
    g = S.derive().reduced.subs(S.beta, beta_value).subs(S.D, t ** (-q))
    poly = sp.expand(sp.powsimp(sp.expand(g), force=True))
    return sp.collect(poly, t, sp.factor)


def instance_polynomial(beta_value: sp.Rational, loss, rho, alpha, A, B, E) -> sp.Poly:
    """The trinomial for one exact instance, as a primitive integer polynomial in t (same roots)."""
    values = {S.loss: exact(loss), S.rho: exact(rho), S.alpha: exact(alpha), S.A: exact(A), S.B: exact(B),
              S.E: exact(E)}
    poly = sp.Poly(trinomial(beta_value).subs(values), t, domain="QQ")
    _, primitive = poly.clear_denoms(convert=True)
    return primitive.primitive()[1]


def sign_changes(poly: sp.Poly) -> int:
    """Descartes' rule: sign changes in the coefficient sequence bound the number of positive roots."""
    signs = [c > 0 for c in poly.all_coeffs() if c != 0]
    return sum(a != b for a, b in zip(signs, signs[1:]))


# --- Galois groups and a second opinion -------------------------------------------------------
def galois(poly: sp.Poly) -> tuple[str, bool, int]:
    """(name, solvable, order) of the Galois group of an irreducible polynomial of degree <= 6."""
    from sympy.polys.numberfields.galoisgroups import galois_group

    group, _ = galois_group(poly, by_name=True)
    perm = group.get_perm_group()
    return group.name, bool(perm.is_solvable), int(perm.order())


def frobenius_cycle_types(poly: sp.Poly, count: int = 30) -> set[tuple[int, ...]]:
    """Factorisation patterns of poly mod the first ``count`` good primes (Dedekind: cycle types in the group)."""
    import warnings

    disc, lead = int(poly.discriminant()), int(poly.LC())
    patterns: set[tuple[int, ...]] = set()
    prime, used = 2, 0
    while used < count:
        if disc % prime and lead % prime:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, factors = sp.factor_list(poly.as_expr(), t, modulus=prime)
            patterns.add(tuple(sorted((int(sp.degree(f, t)) for f, m in factors for _ in range(m)), reverse=True)))
            used += 1
        prime = int(sp.nextprime(prime))
    return patterns


def discriminant_is_square(poly: sp.Poly) -> bool:
    """Whether the discriminant is a rational square (then the Galois group lies in the alternating group)."""
    disc = sp.Rational(poly.discriminant())
    if disc < 0:
        return False
    return sp.sqrt(disc).is_rational is True


def quintic_second_opinion(poly: sp.Poly) -> dict:
    """Decide non-solvability of an irreducible quintic from Frobenius cycle types, independently of galois_group.

    The solvable transitive subgroups of S5 (C5, D5, F20) contain only cycle types 1^5, 5, 4+1 and 2+2+1;
    a prime with pattern 3+1+1, 2+1+1+1, 3+2 or 2+... of another shape proves the group is A5 or S5.
    """
    allowed = {(1, 1, 1, 1, 1), (5,), (4, 1), (2, 2, 1)}
    patterns = frobenius_cycle_types(poly)
    witnesses = sorted(patterns - allowed)
    return {
        "cycle_types": [list(p) for p in sorted(patterns)],
        "not_solvable_witness": list(witnesses[0]) if witnesses else None,
        "discriminant_square": discriminant_is_square(poly),
        "verdict_not_solvable": bool(witnesses),
    }


# --- the analysis ------------------------------------------------------------------------------
@dataclass
class ClosedForm:
    """What can be said about D* in closed form for one instance with rational beta."""

    beta: sp.Rational
    note: str
    symbolic: sp.Expr
    polynomial: sp.Poly
    degree: int
    positive_roots: int
    factor_degrees: list[int]
    solvable: bool | None
    group: str | None
    group_order: int | None
    radical: sp.Expr | None
    tokens_radical: mpmath.mpf | None
    tokens_precise: mpmath.mpf
    tokens_float: float
    dps: int
    selection: str
    decided: str
    checks: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The ``closed-form --json`` object."""
        return {
            "beta": f"{self.beta.p}/{self.beta.q}" if self.beta.q != 1 else str(self.beta.p),
            "beta_note": self.note,
            "substitution": f"t = D**(-1/{self.beta.q})",
            "polynomial_symbolic": str(self.symbolic),
            "polynomial": str(self.polynomial.as_expr()),
            "degree": self.degree,
            "positive_roots": self.positive_roots,
            "factor_degrees": self.factor_degrees,
            "solvable_by_radicals": self.solvable,
            "galois_group": self.group,
            "galois_group_order": self.group_order,
            "radical": None if self.radical is None else str(self.radical),
            "tokens": None if self.tokens_radical is None else float(self.tokens_radical),
            "tokens_precise": mpmath.nstr(self.tokens_precise, self.dps),
            "tokens_numeric_solver": self.tokens_float,
            "dps": self.dps,
            "root_selection": self.selection,
            "decided": self.decided,
            "checks": self.checks,
        }


def analyse(beta_text, loss: float, rho: float, alpha: float, A: float, B: float, E: float,
            dps: int = 50) -> ClosedForm:
    """Analyse Eq. 12 for rational beta: polynomial, degree, radicals or Galois group, and numeric agreement."""
    from symscale.verify.chinchilla import GUARD, solve_precise

    beta_value, note = beta_text if isinstance(beta_text, tuple) else parse_beta(beta_text)
    if float(loss) <= float(E):
        raise InputError(f"unreachable: loss {loss:g} is not above the law's floor E = {E:g}")
    tokens_float = _float_solution(loss, rho, alpha, float(beta_value), A, B, E)  # refuses what float64 cannot hold
    poly = instance_polynomial(beta_value, loss, rho, alpha, A, B, E)
    ex = [exact(v) for v in (alpha, beta_value, A, B, E)]
    with mpmath.workdps(dps + GUARD):
        precise = solve_precise(exact(loss), 1, exact(rho), tuple(ex), dps).tokens
        result = _closed_form(beta_value, note, poly, precise, dps)
        result.tokens_float = tokens_float
        result.checks["numeric_solver_relative_difference"] = float(
            abs(mpmath.mpf(result.tokens_float) - precise) / precise)
        if result.tokens_radical is not None:
            result.checks["radical_vs_mpmath_digits"] = _digits(result.tokens_radical, precise, dps)
            result.checks["radical_vs_numeric_relative"] = float(
                abs(result.tokens_radical - mpmath.mpf(result.tokens_float)) / result.tokens_radical)
    return result


def _digits(a: mpmath.mpf, b: mpmath.mpf, dps: int) -> float:
    """Agreeing significant digits of two high-precision numbers, capped at dps."""
    error = abs(a - b) / abs(b)
    return float(dps) if error == 0 else round(min(float(dps), float(-mpmath.log10(error))), 2)


def _float_solution(loss, rho, alpha, beta, A, B, E) -> float:
    """D* from the package's float solver (for comparison)."""
    from symscale.laws.coefficients import Coefficients
    from symscale.solvers.solve import solve_optimal

    allocation = solve_optimal(float(loss), 1.0, float(rho), Coefficients(float(alpha), beta, float(A), float(B),
                                                                               float(E)))
    return float(allocation.tokens)


def _closed_form(beta_value: sp.Rational, note: str, poly: sp.Poly, precise: mpmath.mpf, dps: int) -> ClosedForm:
    """Radicals (degree <= 4), Galois group (5, 6) or what can be said (higher), for the factor holding t*."""
    q = int(beta_value.q)
    degree = poly.degree()
    factors = _factors(poly)
    factor = _factor_with_root(factors) if factors else poly
    base = dict(beta=beta_value, note=note, symbolic=trinomial(beta_value), polynomial=poly, degree=degree,
                positive_roots=sign_changes(poly), factor_degrees=[f.degree() for f in factors] if factors else [],
                solvable=None, group=None, group_order=None, radical=None, tokens_radical=None,
                tokens_precise=precise, tokens_float=float("nan"), dps=dps, selection="", decided="")
    result = ClosedForm(**base)
    result.selection = (
        "Descartes' rule: the coefficients have signs (+, +, -), so exactly one root t* is real and positive; "
        "D* = t*^(-q) is the unique stationary point, which is the minimiser (bordered Hessian < 0). "
        "Among sympy's roots the one inside the exact isolating interval of the positive real root is taken."
    )
    fdeg = factor.degree()
    if fdeg <= 4:
        radical_t, interval = _radical_root(factor)
        result.radical = sp.simplify(radical_t ** (-q)) if fdeg <= 2 else radical_t ** (-q)
        result.tokens_radical = mpmath.mpf(sp.re(sp.N(result.radical, dps + 10)))
        result.solvable = True
        result.checks["isolating_interval"] = [str(interval[0]), str(interval[1])]
        result.decided = f"the factor holding t* has degree {fdeg} <= 4: solvable, root given in radicals"
    elif fdeg in GALOIS_DEGREES:
        name, solvable, order = galois(factor)
        result.group, result.solvable, result.group_order = name, solvable, order
        result.checks["discriminant_square"] = discriminant_is_square(factor)
        if fdeg == 5:
            result.checks["frobenius"] = quintic_second_opinion(factor)
        result.decided = (
            f"degree {fdeg}: Galois group {name} (order {order}) is {'solvable' if solvable else 'not solvable'}; "
            + ("an expression in radicals exists but sympy does not construct it here" if solvable
               else "no expression in radicals exists for D* of this instance")
        )
    else:
        result.decided = _undecided_text(degree, fdeg, bool(factors))
    return result


def _undecided_text(degree: int, fdeg: int, factored: bool) -> str:
    """What can and cannot be decided above degree 6."""
    known = "exactly one positive root (Descartes); D* is found numerically to any precision"
    if factored:
        known += f"; the factor holding t* is irreducible over Q of degree {fdeg}"
    else:
        known += f"; irreducibility over Q not tested above degree {FACTOR_LIMIT}"
    return (f"degree {degree}: {known}. Solvability by radicals is not decided: sympy computes Galois groups "
            "only up to degree 6")


def _factors(poly: sp.Poly) -> list[sp.Poly]:
    """Irreducible factors over Q (empty when the degree is above FACTOR_LIMIT)."""
    if poly.degree() > FACTOR_LIMIT:
        return []
    _, factors = poly.factor_list()
    return [f for f, _ in factors]


def _factor_with_root(factors: list[sp.Poly]) -> sp.Poly:
    """The irreducible factor holding the positive root (exactly one factor has a root in (0, oo))."""
    holding = [f for f in factors if f.count_roots(0, None) > 0]
    if len(holding) != 1:
        raise ArithmeticError(f"expected one factor with a positive root, found {len(holding)}")  # pragma: no cover
    return holding[0]


def _radical_root(poly: sp.Poly) -> tuple[sp.Expr, tuple]:
    """The positive real root of a polynomial of degree <= 4 in radicals, and its exact isolating interval."""
    positive = [iv for iv, _ in poly.intervals() if iv[1] > 0]
    if len(positive) != 1:
        raise ArithmeticError(f"expected one positive real root, found {len(positive)}")  # pragma: no cover
    lo, hi = positive[0]
    while lo <= 0:  # refine until the interval excludes 0
        (lo, hi) = poly.refine_root(lo, hi, eps=(hi - lo) / 4)
    candidates = []
    # enough digits to tell where the root lies within the (possibly very narrow) isolating interval
    digits = 60 + len(str(int(sp.Rational(hi) / (sp.Rational(hi) - sp.Rational(lo)))))  # exact: hi - lo may be tiny
    for root in sp.roots(poly, t, cubics=True, quartics=True, multiple=True):
        value = sp.N(root, digits)
        re, im = sp.re(value), sp.im(value)
        if abs(im) <= sp.Float(10) ** -40 * max(abs(re), 1) and lo <= re <= hi:
            candidates.append(root)
    if len(candidates) != 1:
        raise ArithmeticError(f"could not single out the positive root in radicals ({len(candidates)} candidates)")
    return candidates[0], (lo, hi)


def render(result: ClosedForm) -> str:
    """Text report for ``symscale closed-form``."""
    d = result.as_dict()
    lines = [
        f"{result.note}; substitute {d['substitution']}:",
        f"  Eq. 12 becomes  {d['polynomial_symbolic']} = 0",
        f"  instance (integer coefficients):  {d['polynomial']} = 0",
        f"  degree {d['degree']}; coefficient sign changes: {d['positive_roots']} (exactly one positive root)",
    ]
    if result.factor_degrees and len(result.factor_degrees) > 1:
        lines.append(f"  factors over Q of degrees {result.factor_degrees}")
    lines.append(f"  {d['decided']}")
    if result.radical is not None:
        lines += [f"  D* = {d['radical']}", f"     = {mpmath.nstr(result.tokens_radical, result.dps)}",
                  f"  root selection: {d['root_selection']}",
                  f"  agrees with mpmath to {d['checks']['radical_vs_mpmath_digits']:g} digits and with the float "
                  f"solver to {d['checks']['radical_vs_numeric_relative']:.1e} relative"]
    else:
        lines += [f"  D* (mpmath, {result.dps} digits) = {d['tokens_precise']}",
                  f"  float solver: {result.tokens_float:.17g} "
                  f"(relative difference {d['checks']['numeric_solver_relative_difference']:.1e})"]
        if "frobenius" in result.checks:
            fr = result.checks["frobenius"]
            witness = fr["not_solvable_witness"]
            lines.append("  second opinion (Frobenius cycle types mod primes): "
                         + (f"pattern {witness} lies outside every solvable transitive subgroup of S5"
                            if witness else "no witness of non-solvability found"))
    return "\n".join(lines)
