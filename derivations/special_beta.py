"""Rational beta = p/q: Eq. 12 becomes a trinomial of degree p + q in t = D**(-1/q); what that buys.

Run: python derivations/special_beta.py
"""

import sympy as sp

from symscale.verify.closed_forms import analyse, exact, t, trinomial

RHO = exact(2e12) / 3  # the README example: 2e12 inference tokens, compute objective
CHIN = dict(alpha=0.336, A=406.4, B=410.7, E=1.69)

for beta, degree in [("1", 2), ("1/2", 3), ("2", 3), ("1/3", 4), ("3", 4), ("1/4", 5), ("2/3", 5), ("1/5", 6)]:
    value = sp.Rational(beta)
    poly = sp.Poly(trinomial(value), t)
    print(f"beta = {beta}:  {sp.collect(trinomial(value), t)} = 0   (degree {poly.degree()})")
    assert poly.degree() == degree == value.p + value.q
    result = analyse(beta, 1.947, RHO, dps=40, **CHIN)
    assert result.positive_roots == 1  # Descartes: signs (+, +, -)
    if degree <= 4:
        digits = result.checks["radical_vs_mpmath_digits"]
        rel = result.checks["radical_vs_numeric_relative"]
        print(f"    radicals: D* = {float(result.tokens_radical):.12e}, {digits:g} digits vs mpmath, "
              f"{rel:.1e} vs the float solver")
        assert result.solvable and digits >= 35 and rel < 1e-12
    else:
        print(f"    Galois group {result.group} (order {result.group_order}): solvable = {result.solvable}")
        assert result.group in ("S5", "S6") and result.solvable is False
        if degree == 5:
            assert result.checks["frobenius"]["verdict_not_solvable"]  # a second, independent argument

print("The paper's beta = 0.283 = 283/1000 gives degree", analyse("0.283", 1.947, RHO, dps=30, **CHIN).degree,
      "- far beyond what a Galois computation can settle.")
print("special betas verified")
