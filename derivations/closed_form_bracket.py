"""The closed-form bracket D_chin <= D* <= D_chin*(1 + rho*beta/((alpha+beta)*D_chin))**(1/beta), derived.

Run: python derivations/closed_form_bracket.py
"""

import sympy as sp

from symscale.problems import chinchilla as S
from symscale.solvers.solve import solve_optimal
from symscale.verify.chinchilla import bracket_expressions

model = S.derive()
g, k1, k2 = model.reduced, model.reduced_k1, model.reduced_k2
s = sp.Symbol("s", positive=True)  # s = loss - E > 0 (a reachable loss)
Dc = sp.Symbol("D_chin", positive=True)
print("Eq. 12:  g(D) =", sp.collect(g, [S.D]), "= 0")
print("         k1 =", k1, ",  k2 =", k2)

# The bracket's upper end written through k1, k2: rho*beta/(alpha+beta) is exactly k2/k1.
assert sp.simplify(S.rho * S.beta / (S.alpha + S.beta) - k2 / k1) == 0
print("rho*beta/(alpha+beta) = k2/k1, so the upper end is U = D_chin*(1 + k2/(k1*D_chin))**(1/beta)")

# Lower end: D_chin**beta = k1/s (the rho = 0 root), and then g(D_chin) = k2*D_chin**(-beta-1) >= 0.
lower, upper = bracket_expressions()
assert sp.simplify(lower.subs(S.loss, S.E + s) ** S.beta - k1 / s) == 0
g_at = sp.expand((g.subs(S.loss, S.E + s).subs(S.D, Dc)) * Dc**S.beta)
g_lower = sp.simplify(g_at.subs(Dc**S.beta, k1 / s))
print("D_chin**beta * g(D_chin) =", g_lower, " (>= 0)")
assert sp.simplify(g_lower - k2 / Dc) == 0 and g_lower.is_nonnegative

# Upper end: U**beta = D_chin**beta*(1 + k2/(k1*D_chin)) = (k1 + k2/D_chin)/s, so
# U**beta * g(U) = -(k1 + k2/D_chin) + k1 + k2/U = k2*(1/U - 1/D_chin) <= 0 because U >= D_chin.
U = sp.Symbol("U", positive=True)
upper_in_k = Dc * (1 + k2 / (k1 * Dc)) ** (1 / S.beta)
u_beta = sp.expand_power_base(upper_in_k**S.beta, force=True).subs(Dc**S.beta, k1 / s)
assert sp.simplify(u_beta - (k1 + k2 / Dc) / s) == 0
g_times = sp.expand(g.subs(S.loss, S.E + s).subs(S.D, U) * U**S.beta)
print("U**beta * g(U) =", g_times, " with U**beta =", sp.simplify(u_beta))
g_upper = sp.simplify(g_times.subs(U**S.beta, u_beta))
print("             =", sp.factor(g_upper), " (<= 0 since U >= D_chin)")
assert sp.simplify(g_upper - k2 * (1 / U - 1 / Dc)) == 0

# So g changes sign on [D_chin, U] and, g being decreasing, D* lies inside. Check on numbers:
for loss, rho in [(1.947, 2e12 / 3), (2.5, 1e9), (1.75, 1e16)]:
    D = float(solve_optimal(loss, 1.0, rho, "chinchilla").tokens)
    values = {S.loss: loss, S.rho: rho, S.alpha: 0.336, S.beta: 0.283, S.A: 406.4, S.B: 410.7, S.E: 1.69}
    lo, hi = float(lower.subs(values)), float(upper.subs(values))
    print(f"  loss {loss}, rho {rho:.3g}:  {lo:.6e} <= D* = {D:.6e} <= {hi:.6e}")
    assert lo <= D <= hi
print("bracket verified")
