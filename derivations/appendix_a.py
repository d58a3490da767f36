"""Appendix A of Sardana et al. (2024), step by step: derived with sympy, compared with the printed version.

Run: python derivations/appendix_a.py
"""

from symscale.verify.proof import check_proof

steps = check_proof()
for step in steps:
    print(step, end="\n\n")

verdicts = {step.id: step.verdict for step in steps}
# Every equation of the proof is right as printed.
assert all(verdicts[key] == "holds" for key in ("eq7", "eq8", "eq9", "eq10", "eq11", "eq12"))
# The numeric form: 756.6 = beta*B/alpha + B (to the printed digits), exponents -1.283 and -0.283.
assert verdicts["numeric-form"] == "holds"
# The sign claim is wrong: c = E - loss < 0 for every reachable loss.
assert verdicts["claim-c"] == "fails"
# Existence, uniqueness, minimality and the Chinchilla limit hold (the paper does not argue the first two).
assert all(verdicts[key] == "holds" for key in ("root", "minimum", "chinchilla-limit"))
# 'arbitrary a' and the theorem's wording are imprecise but the substance stands.
assert verdicts["claim-a"] == "imprecise" and verdicts["theorem"] == "imprecise"
print(f"{sum(s.holds for s in steps)} of {len(steps)} steps hold; flagged: "
      + ", ".join(s.id for s in steps if not s.holds))
