"""Small and large inference demand: leading-order forms of D* and N*, derived and checked against the solver.

Small demand (rho -> 0):   D* = D_chin + rho/(alpha+beta) + O(rho**2),
                           N* = N_chin*(1 - rho/((alpha+beta)*D_chin)) + O(rho**2).
Large demand (rho -> oo):  D* ~ (beta*B*rho/(alpha*(loss-E)))**(1/(1+beta)),
                           N* -> N_min = (A/(loss-E))**(1/alpha)   (the smallest model that can reach the loss).
Run: python derivations/demand_asymptotics.py
"""

import math

import sympy as sp

from symscale.problems import chinchilla as S
from symscale.solvers.solve import solve_optimal

model = S.derive()
g = model.reduced
s = sp.Symbol("s", positive=True)  # loss - E
values = {S.alpha: 0.336, S.beta: 0.283, S.A: 406.4, S.B: 410.7, S.E: 1.69, S.loss: 1.947}
LOSS, E = values[S.loss], values[S.E]

# --- small demand: implicit differentiation of g(D(rho), rho) = 0 at rho = 0 ---------------------
D0 = S.chinchilla().tokens_of_loss
dD = -sp.diff(g, S.rho) / sp.diff(g, S.D)
slope_D = sp.simplify(dD.subs(S.rho, 0).subs(S.D, D0))
print("dD*/drho at rho = 0:", slope_D)
assert sp.simplify(slope_D - 1 / (S.alpha + S.beta)) == 0
lnN = sp.log(model.params_of_tokens)
dlnN = sp.diff(lnN, S.rho) + sp.diff(lnN, S.D) * dD
slope_lnN = sp.simplify(sp.expand_log(dlnN.subs(S.rho, 0), force=True))
print("d ln N*/drho at rho = 0:", slope_lnN)
assert sp.simplify(slope_lnN + 1 / ((S.alpha + S.beta) * S.D)) == 0

d_chin = float(D0.subs(values))
n_chin = float(model.params_of_tokens.subs(S.rho, 0).subs(values).subs(S.D, d_chin))
a_b = values[S.alpha] + values[S.beta]
print("small demand, relative errors of the linear forms (should fall like rho**2):")
previous = None
for ratio in (1e-2, 1e-3, 1e-4):
    rho = ratio * d_chin
    exact = solve_optimal(LOSS, 1.0, rho, "chinchilla")
    err_d = abs(float(exact.tokens) / (d_chin + rho / a_b) - 1)
    err_n = abs(float(exact.params) / (n_chin * (1 - rho / (a_b * d_chin))) - 1)
    print(f"  rho/D_chin = {ratio:g}: D {err_d:.2e}, N {err_n:.2e}")
    assert err_d < 10 * ratio**2 and err_n < 10 * ratio**2 + 1e-13
    if previous:
        assert err_d < previous / 30  # quadratic: a factor 10 in rho gives ~100 in the error
    previous = err_d

# --- large demand: dominant balance with D = K*rho**(1/(1+beta)) ---------------------------------
K, r = sp.symbols("K r", positive=True)
gamma = 1 / (1 + S.beta)
scaled = sp.expand(g.subs(S.loss, S.E + s).subs(S.D, K * r**gamma) * (K * r**gamma) ** (S.beta + 1) / r)
scaled = sp.powsimp(sp.expand(sp.powsimp(scaled, force=True)), force=True).subs(S.rho, r)
limit = sp.limit(scaled, r, sp.oo)
print("rho -> oo: D**(beta+1)*g(D)/rho with D = K*rho**(1/(1+beta)) tends to", limit)
K_star = sp.solve(limit, K)
assert len(K_star) == 1
D_large = sp.simplify(K_star[0] * S.rho**gamma)
print("leading order D* ~", D_large)
assert sp.simplify(D_large ** (1 + S.beta) - S.beta * S.B * S.rho / (S.alpha * s)) == 0
# N from the constraint: A/N**alpha = s - B/D**beta -> s as D -> oo.
N_min = (S.A / s) ** (1 / S.alpha)
N_of_D = (S.A / (s - S.B * S.D**-S.beta)) ** (1 / S.alpha)
assert sp.limit(N_of_D.subs(S.beta, sp.Rational(283, 1000)), S.D, sp.oo) == N_min
print("N* -> N_min =", N_min)

vals = {**values, s: LOSS - E}
n_min = float(N_min.subs(vals))
print("large demand, relative errors (D: should fall like rho**(-beta/(1+beta)); N: N*/N_min - 1 -> 0):")
errors = []
for rho in (1e18, 1e24, 1e30):
    exact = solve_optimal(LOSS, 1.0, rho, "chinchilla")
    lead = float(D_large.subs(vals).subs(S.rho, rho))
    err_d = abs(float(exact.tokens) / lead - 1)
    err_n = float(exact.params) / n_min - 1
    print(f"  rho = {rho:.0e}: D {err_d:.2e}, N {err_n:.2e}")
    assert err_n > 0
    errors.append((rho, err_d, err_n))
slope = math.log(errors[-1][1] / errors[-2][1]) / math.log(errors[-1][0] / errors[-2][0])
expected = -0.283 / 1.283
print(f"  log-log slope of the D error: {slope:.3f} (predicted {expected:.3f})")
assert abs(slope - expected) < 0.02 and errors[-1][2] < errors[0][2] < 0.2
print("asymptotic forms verified")
