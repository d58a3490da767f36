"""D_inf = 0: Eq. 12 and Eq. 11 reduce to Chinchilla's closed forms (Hoffmann et al. 2022).

Run: python derivations/chinchilla_limit.py
"""

import sympy as sp

from symscale.problems import chinchilla as S
from symscale.solvers.solve import chinchilla, solve_compute_optimal

model = S.derive()
root = sp.solve(model.reduced.subs(S.rho, 0), S.D)
print("rho = 0: roots of Eq. 12:", root)
assert len(root) == 1
D0 = root[0]
expected = (S.B * (1 + S.beta / S.alpha) / (S.loss - S.E)) ** (1 / S.beta)
assert sp.simplify(D0 - expected) == 0
print("D_chin(loss) =", expected)

N_of_D = sp.powsimp(model.params_of_tokens.subs(S.rho, 0), force=True)
print("N(D) on the Chinchilla path =", N_of_D)

# Compute-budget form: C = 6*N*D with N(D) above; Hoffmann's N_opt = G*(C/6)**a, D_opt = (C/6)**b/G.
G = (S.alpha * S.A / (S.beta * S.B)) ** (1 / (S.alpha + S.beta))
chin = S.chinchilla()
for derived, printed in [(chin.params_of_compute, G * (S.C / 6) ** (S.beta / (S.alpha + S.beta))),
                         (chin.tokens_of_compute, (S.C / 6) ** (S.alpha / (S.alpha + S.beta)) / G)]:
    difference = sp.simplify(sp.expand_log(sp.log(derived) - sp.log(printed), force=True))
    print("  ", printed, " derived equal:", difference == 0)
    assert difference == 0

# And the float solver with zero demand lands on the closed form.
for loss in (1.8, 1.947, 2.3):
    optimum = solve_compute_optimal(loss, 0.0, "chinchilla")
    closed = chinchilla(loss=loss, coefficients="chinchilla")
    rel = abs(float(optimum.tokens) / float(closed.tokens) - 1), abs(float(optimum.params) / float(closed.params) - 1)
    print(f"  loss {loss}: solver vs closed form, relative differences {rel[0]:.1e} (D), {rel[1]:.1e} (N)")
    assert max(rel) < 1e-12
print("Chinchilla limit verified")
