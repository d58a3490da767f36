"""The lifetime problem with limited unique data (a law in N, D, U such as muennighoff-2023) and hard limits.

With U fixed, the law's min/max pieces split the (N, D) plane into smooth regimes (for muennighoff-2023:
D <= U or D > U, N <= N_opt(U_D) or N > N_opt(U_D)). :func:`regimes` derives each regime's expression
with sympy by choosing one argument of every min/max (the choice's inequalities are the regime's
box); each is a smooth law whose lifetime problem :func:`symscale.problems.generic.derive` derives.

Numerically (:func:`solve_limited`), along the iso-loss curve x = ln D -> N(x) of the whole law, the
curve is cut where it leaves a regime (the kinks, located by bisection) and at the hard limits
D <= K*U and N <= N_max. On each smooth piece the stationarity condition of that regime,
F2 = ln a_N - ln a_D + x - ln(e^x + rho) = 0, is bracketed on a scan and bisected; the candidates
(every stationary point, every kink, every active limit) are compared by the objective and the
lowest wins. A limit's multiplier is -d objective*/d limit from the KKT conditions at the boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from symscale.base.errors import InputError
from symscale.laws.law import Coefficient, Law
from symscale.laws.limits import Limits
from symscale.solvers.generic import LN_BIG, LN_SMALL, SCAN_SPAN, _bisect, _feasible_ln_tokens, _solve_ln_params

UNLIMITED = math.exp(LN_BIG)          # "no limit on unique data": min(U, D) = D for every D in range
SCAN_POINTS = 160
EDGE = 1e-9                           # relative step used to look at one side of a kink


# --- the regimes, derived by sympy ----------------------------------------------------------------
@dataclass(frozen=True)
class RegimeLaw(Law):
    """One smooth regime of a law with min/max: a Law whose expression is given (U is a coefficient)."""

    symbolic: object = field(default=None, compare=False)

    @cached_property
    def expr(self):
        return self.symbolic


@dataclass(frozen=True)
class Regime:
    """A smooth piece of a law: its expression, and the inequalities g >= 0 that bound it."""

    index: int
    law: RegimeLaw
    conditions: tuple          # sympy expressions, each >= 0 inside the regime
    relations: tuple           # the same as sympy relations, for printing

    @property
    def expr(self):
        return self.law.expr


def has_unique_tokens(law: Law) -> bool:
    """Whether the law's formula uses U (the available unique tokens)."""
    return law.uses_unique_tokens


def _branches(expr) -> list[tuple]:
    """Every way of replacing each min/max by one of its arguments: [(expr, ((g, relation), ...))]."""
    import sympy as sp

    atoms = [a for a in sp.preorder_traversal(expr) if isinstance(a, (sp.Min, sp.Max))]
    if not atoms:
        return [(expr, ())]
    atom = next(a for a in atoms if not any(arg.has(sp.Min, sp.Max) for arg in a.args))
    out = []
    for chosen in atom.args:
        others = [o for o in atom.args if o is not chosen]
        if isinstance(atom, sp.Max):
            conds = tuple((chosen - o, sp.Ge(chosen, o, evaluate=False)) for o in others)
        else:
            conds = tuple((o - chosen, sp.Le(chosen, o, evaluate=False)) for o in others)
        for sub, more in _branches(expr.xreplace({atom: chosen})):
            out.append((sub, conds + more))
    return out


@lru_cache(maxsize=16)
def regimes(law: Law) -> tuple[Regime, ...]:
    """The smooth regimes of ``law`` (all of them, degenerate ones included; see :func:`live_regimes`)."""
    coefficients = law.coefficients + ((Coefficient("U"),) if "U" not in law.names else ())
    out = []
    names = _piece_names(law)
    for i, (expr, conds) in enumerate(_branches(law.expr)):
        rl = RegimeLaw(name=f"{law.name} [regime {i}]", formula=str(expr), coefficients=coefficients,
                       source=law.source, symbolic=expr)
        out.append(Regime(i, rl, tuple(g for g, _ in conds), _tidy_relations([r for _, r in conds], names)))
    return tuple(out)


def _piece_names(law: Law) -> dict:
    """Each branch of the law's named compound pieces (e.g. N_opt(D), N_opt(U)) -> a symbol, for printing."""
    import sympy as sp

    from symscale.laws.parse import parse

    table = {}
    for key, text in law.derived:
        for expr, conds in _branches(parse(text, law.names)):
            if not expr.is_Symbol:
                arg = str(conds[0][1].lhs) if len(conds) == 1 and conds[0][1].lhs.is_Symbol else ""
                table.setdefault(expr, sp.Symbol(f"{key}({arg})" if arg else key))
    return table


def _tidy_relations(relations: list, names: dict) -> tuple:
    """The relations with named pieces as symbols, without duplicates (D/U - 1 >= 0 is U <= D)."""
    import sympy as sp

    out, seen = [], set()
    for r in relations:
        g = r.lhs - r.rhs if isinstance(r, sp.Ge) else r.rhs - r.lhs
        key = sp.expand(sp.numer(sp.together(g)))
        if key not in seen:
            seen.add(key)
            out.append(r.xreplace(names))
    return tuple(out)


@dataclass(frozen=True)
class _RegimeKernels:
    elasticities: object        # (a_N, a_D)
    conditions: object          # tuple of g (>= 0 inside)
    a_U: object                 # -U dL/dU (0 for a law without U)


def _symbols(regime: Regime):
    import sympy as sp

    from symscale.problems.generic import D, N

    swap = {sp.Symbol("N", positive=True): N, sp.Symbol("D", positive=True): D}
    return swap, (N, D, *(sp.Symbol(name, positive=True) for name in regime.law.names))


@lru_cache(maxsize=64)
def _conditions(regime: Regime):
    """numpy function of (N, D, *coefficients, U): the regime's conditions g (>= 0 inside)."""
    import sympy as sp

    swap, args = _symbols(regime)
    conds = [g.xreplace(swap) for g in regime.conditions] or [sp.Integer(1)]
    return sp.lambdify(args, conds, modules="numpy", cse=True)


@lru_cache(maxsize=64)
def elasticities(regime: Regime) -> tuple:
    """(a_N, a_D, a_U) = (-N dL/dN, -D dL/dD, -U dL/dU) of one regime, derived by sympy (first derivatives only:
    the regime's Jacobian, which :func:`symscale.problems.generic.derive` also builds, is not needed here)."""
    import sympy as sp

    from symscale.problems.generic import D, N, _log_derivative

    swap, _ = _symbols(regime)
    expr = regime.expr.xreplace(swap)
    return tuple(-_log_derivative(expr, v) for v in (N, D, sp.Symbol("U", positive=True)))


@lru_cache(maxsize=64)
def _regime_kernels(regime: Regime) -> _RegimeKernels:
    """numpy functions of (N, D, *coefficients, U) for one regime."""
    import sympy as sp

    _, args = _symbols(regime)
    a_n, a_d, a_u = elasticities(regime)
    return _RegimeKernels(elasticities=sp.lambdify(args, [a_n, a_d], modules="numpy", cse=True),
                          conditions=_conditions(regime), a_U=sp.lambdify(args, a_u, modules="numpy", cse=True))


# --- the KKT system with the hard limits ----------------------------------------------------------
@lru_cache(maxsize=1)
def limit_kkt() -> dict:
    """The KKT system of min k_train*N*D + k_inf*N s.t. L = loss, D <= D_max, N <= N_max, solved by sympy.

    The law enters through its elasticities a_N = -N dL/dN, a_D = -D dL/dD (dL/dN = -a_N/N). With one
    limit active, the two stationarity equations give lambda and that limit's multiplier.
    """
    import sympy as sp

    from symscale.problems.generic import D, N, k_inf, k_train, lam, loss

    mu_d, mu_n, a_n, a_d = sp.symbols("mu_D mu_N a_N a_D", real=True)
    d_max, n_max = sp.symbols("D_max N_max", positive=True)
    law = sp.Function("L")(N, D)
    objective = k_train * N * D + k_inf * N
    lagrangian = objective + lam * (law - loss) + mu_d * (D - d_max) + mu_n * (N - n_max)
    stationarity = [sp.Eq(sp.diff(lagrangian, v), 0) for v in (N, D)]
    elastic = {sp.Derivative(law, N): -a_n / N, sp.Derivative(law, D): -a_d / D}
    plain = [eq.subs(elastic) for eq in stationarity]
    d_active = sp.solve([plain[0].subs(mu_n, 0), plain[1]], [lam, mu_d], dict=True)[0]
    n_active = sp.solve([plain[0], plain[1].subs(mu_d, 0)], [lam, mu_n], dict=True)[0]
    return {
        "lagrangian": lagrangian, "stationarity": stationarity,
        "feasibility": (sp.Eq(law, loss), sp.Le(D, d_max), sp.Le(N, n_max)),
        "dual": (sp.Ge(mu_d, 0), sp.Ge(mu_n, 0)),
        "slackness": (sp.Eq(mu_d * (D - d_max), 0), sp.Eq(mu_n * (N - n_max), 0)),
        "mu_D": sp.simplify(d_active[mu_d]), "mu_N": sp.simplify(n_active[mu_n]),
        "lambda": sp.simplify(d_active[lam]),
        "symbols": (N, D, k_train, k_inf, a_n, a_d),
    }


@lru_cache(maxsize=1)
def _multiplier_kernels():
    import sympy as sp

    kkt = limit_kkt()
    args = kkt["symbols"]
    return (sp.lambdify(args, kkt["mu_D"], modules="math"), sp.lambdify(args, kkt["mu_N"], modules="math"),
            sp.lambdify(args, kkt["lambda"], modules="math"))


@lru_cache(maxsize=16)
def _full_loss(law: Law):
    """The whole law (min/max kept) as a numpy function of (N, D, *coefficients, U); args are broadcast."""
    import sympy as sp

    from symscale.problems.generic import D, N

    expr = law.expr.xreplace({sp.Symbol("N", positive=True): N, sp.Symbol("D", positive=True): D})
    names = law.names + (("U",) if "U" not in law.names else ())
    fn = sp.lambdify((N, D, *(sp.Symbol(n, positive=True) for n in names)), expr, modules="numpy", cse=True)

    def loss(*args):
        return fn(*np.broadcast_arrays(*(np.asarray(a, float) for a in args)))

    return loss


def law_loss(law: Law, values: dict, params, tokens, unique=UNLIMITED):
    """L(N, D, U) of the whole law (U ignored by a law without it; unlimited fresh data by default)."""
    with np.errstate(all="ignore"):
        return _full_loss(law)(params, tokens, *(float(values[n]) for n in law.names if n != "U"), unique)


def live_regimes(law: Law, values: dict) -> tuple[Regime, ...]:
    """The regimes whose box has an interior (all conditions > 0 somewhere) for these coefficient values."""
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(math.log(1e3), math.log(1e15), 4096))
    d = np.exp(rng.uniform(math.log(1e5), math.log(1e17), 4096))
    u = np.exp(rng.uniform(math.log(1e5), math.log(1e17), 4096))
    cs = [float(values[name]) for name in law.names if name != "U"]
    live = []
    with np.errstate(all="ignore"):
        for r in regimes(law):
            g = np.broadcast_arrays(*_conditions(r)(n, d, *cs, u))
            if np.any(np.all(np.stack(g) > 0, axis=0)):
                live.append(r)
    return tuple(live)


# --- the whole law along its iso-loss curve -------------------------------------------------------
class _Curve:
    """Kernels for the generic solver's helpers: the whole law and the elasticities of the regime at each point."""

    def __init__(self, law: Law, values: dict, unique: float):
        self.law = law
        self.regimes = live_regimes(law, values) if _has_minmax(law) else regimes(law)
        self.kernels = [_regime_kernels(r) for r in self.regimes]
        self.full = _full_loss(law)
        self.cs = tuple(float(values[name]) for name in law.names if name != "U") + (float(unique),)

    def loss(self, n, d, *cs):
        return self.full(n, d, *cs)

    def regime_at(self, n, d, cs=None) -> np.ndarray:
        """Index (into self.regimes) of the regime holding each point (first whose conditions hold)."""
        cs = self.cs if cs is None else cs
        n, d = np.broadcast_arrays(np.asarray(n, float), np.asarray(d, float))
        score = np.stack([np.min(np.stack(np.broadcast_arrays(*k.conditions(n, d, *cs), n)[:-1]), axis=0)
                          for k in self.kernels])
        return np.argmax(score, axis=0)

    def elasticities(self, n, d, *cs):
        n, d = np.broadcast_arrays(np.asarray(n, float), np.asarray(d, float))
        which = self.regime_at(n, d, cs)
        a_n, a_d = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
        for i, k in enumerate(self.kernels):
            pick = which == i
            if pick.any():
                sub = [np.broadcast_to(c, n.shape)[pick] for c in cs]
                an, ad = k.elasticities(n[pick], d[pick], *sub)
                a_n[pick], a_d[pick] = np.broadcast_to(an, n[pick].shape), np.broadcast_to(ad, n[pick].shape)
        return a_n, a_d

    def regime_elasticities(self, i: int, n, d):
        a_n, a_d = self.kernels[i].elasticities(n, d, *self.cs)
        return np.broadcast_to(a_n, np.shape(n)), np.broadcast_to(a_d, np.shape(n))

    def ln_params(self, x, target: float) -> np.ndarray:
        """ln N on the iso-loss curve at ln D = x (NaN where no N reaches the target)."""
        return _solve_ln_params(self, np.asarray(x, float), target, self.cs)


def _has_minmax(law: Law) -> bool:
    import sympy as sp

    return law.expr.has(sp.Min, sp.Max)


# --- the solver ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """State of one hard limit at the optimum: active or not, and its multiplier -d objective*/d limit."""

    name: str
    limit: float
    active: bool
    multiplier: float       # objective units per token (D limit) or per parameter (N limit); 0 if inactive

    def as_dict(self) -> dict:
        return {"name": self.name, "limit": self.limit, "active": self.active, "multiplier": self.multiplier}


@dataclass(frozen=True)
class LimitedOptimum:
    """The optimum on the iso-loss curve within the limits."""

    params: float
    tokens: float
    objective: float
    regime: int                 # index into regimes(law) of the regime on the optimum's side
    where: str                  # 'stationary', 'kink', or the name of the active limit
    candidates: int             # stationary points + kinks + boundaries compared
    minima: int                 # interior stationary minima found
    constraints: tuple = ()


def solve_limited(law: Law, values: dict, loss: float, k_train: float, k_inf: float,
                  limits: Limits | None = None) -> LimitedOptimum:
    """Minimise k_train*N*D + k_inf*N on L(N, D[, U]) = loss within the limits (one scenario)."""
    return solve_limited_many(law, values, loss, k_train, np.asarray([k_inf], dtype=float), limits)[0]


def solve_limited_many(law: Law, values: dict, loss: float, k_train, k_inf,
                       limits: Limits | None = None) -> list[LimitedOptimum]:
    """:func:`solve_limited` for many demands at one loss: the curve is scanned and cut once, and every
    scenario's stationary points are bracketed and refined together (a scenario's answer does not depend on
    the others: each root is refined on its own bracket)."""
    limits = Limits() if limits is None else limits
    curve, lo, hi, pieces = _prepared(law, tuple(sorted((k, float(v)) for k, v in values.items())), float(loss),
                                      limits)
    k_inf = np.atleast_1d(np.asarray(k_inf, dtype=float))
    k_train = np.broadcast_to(np.asarray(k_train, dtype=float), k_inf.shape)
    with np.errstate(all="ignore"):
        rho = k_inf / k_train
        ln_rho = np.where(rho > 0, np.log(np.where(rho > 0, rho, 1.0)), -np.inf)
        roots = [_stationary_points(curve, loss, ln_rho, regime, inner, h) for _, _, regime, inner, h in pieces]
        ends = np.array([e for a, b, *_ in pieces for e in (a, b)], dtype=float)
        y_ends = curve.ln_params(ends, loss)
        root_x = np.concatenate([x for _, x in roots]) if roots else np.empty(0)
        y_roots = curve.ln_params(root_x, loss) if root_x.size else root_x
    out, at = [], 0
    by_piece = []
    for rows, x in roots:
        by_piece.append((rows, x, y_roots[at:at + x.size]))
        at += x.size
    for i in range(k_inf.size):
        out.append(_best(curve, law, loss, float(k_train[i]), float(k_inf[i]), limits, lo, hi, pieces, by_piece,
                         ends, y_ends, i))
    return out


def _best(curve, law, loss, k_train, k_inf, limits, lo, hi, pieces, by_piece, ends, y_ends, i) -> LimitedOptimum:
    """Scenario i's candidates in order (each piece's stationary points, then its two ends), and the lowest."""
    candidates, ys, minima = [], [], 0     # (x, where, regime)
    for p, (_, _, regime, _, _) in enumerate(pieces):
        rows, x, y = by_piece[p]
        mine = np.flatnonzero(rows == i)
        minima += mine.size
        candidates += [(float(x[j]), "stationary", regime) for j in mine]
        ys += [float(y[j]) for j in mine]
        candidates += [(float(ends[2 * p]), "low", regime), (float(ends[2 * p + 1]), "high", regime)]
        ys += [float(y_ends[2 * p]), float(y_ends[2 * p + 1])]
    with np.errstate(all="ignore"):
        xs, ys = np.array([c[0] for c in candidates]), np.array(ys)
        objective = ys + np.log(k_train * np.exp(xs) + k_inf)
        best = int(np.nanargmin(objective))
    x_best, kind, regime = candidates[best]
    if x_best >= hi and limits.max_tokens is None:
        raise InputError(f"law {law.name}: no optimum within floating-point range for loss {loss:g} "
                         f"(the objective keeps falling toward D = e^{hi:.0f})")
    where, constraints = _classify(curve, law, loss, k_train, k_inf, limits, x_best, float(ys[best]), kind,
                                   lo, hi, regime)
    return LimitedOptimum(float(np.exp(ys[best])), float(np.exp(x_best)), float(np.exp(objective[best])),
                          curve.regimes[regime].index, where, len(candidates), minima, constraints)


@lru_cache(maxsize=64)
def _prepared(law: Law, items: tuple, loss: float, limits: Limits) -> tuple:
    """What does not depend on the demand: the curve, its feasible interval in ln D and its smooth pieces, each
    with its scan points (nudged off the kinks) and the demand-free part of F2 there, h = ln a_N - ln a_D + x.

    Cached, so the scenarios of a sweep that share a loss and limits scan and cut the curve once.
    """
    unique = limits.unique_tokens if limits.unique_tokens is not None else UNLIMITED
    curve = _Curve(law, dict(items), unique)
    with np.errstate(all="ignore"):
        lo, hi = _interval(curve, law, loss, limits)
        grid = _grid(lo, hi, unique, limits)
        y = curve.ln_params(grid, loss)
        which = curve.regime_at(np.exp(y), np.exp(grid))
        cuts = _kinks(curve, loss, grid, which)
        pieces = []
        for a, b, regime, xs in _pieces(curve, loss, lo, hi, cuts, grid, which):
            inner = xs.copy()
            inner[0] = a + EDGE * max(1.0, abs(a)) if len(inner) > 2 else a
            inner[-1] = b - EDGE * max(1.0, abs(b)) if len(inner) > 2 else b
            pieces.append((a, b, regime, inner, _h(curve, loss, regime, inner)))
    return curve, lo, hi, tuple(pieces)


def _interval(curve: _Curve, law: Law, loss: float, limits: Limits) -> tuple[float, float]:
    """The feasible ln D on the iso-loss curve within the limits; InputError with the best loss if empty."""
    x_min, reachable = _feasible_ln_tokens(curve, np.asarray(loss, float), curve.cs)
    lo, hi = float(x_min), float(x_min) + SCAN_SPAN
    n_max = limits.max_params
    d_max = limits.max_tokens
    if n_max is not None:
        def excess(x):
            return curve.loss(n_max, np.exp(x), *curve.cs) - loss

        if excess(LN_BIG) < 0:
            x_n = float(_bisect(excess, np.asarray(LN_SMALL), np.asarray(LN_BIG)))
            lo = max(lo, x_n if excess(LN_SMALL) >= 0 else LN_SMALL)
            hi = max(hi, lo + SCAN_SPAN)
        else:
            reachable = False
    if d_max is not None:
        hi = min(hi, math.log(d_max))
        if hi < lo:
            reachable = False
    if not reachable or hi < lo:
        raise InputError(_unreachable_message(curve, law, loss, limits))
    return lo, hi


def iso_loss_curve(law: Law, values: dict, loss: float, unique: float | None = None, points: int = 1600,
                   tokens: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(params, tokens) along the iso-loss curve of the whole law at ``unique`` tokens (unlimited if None),
    ln D evenly spaced over the feasible range the solver scans (within ``tokens`` if given); points no N
    reaches are left out."""
    curve = _Curve(law, values, UNLIMITED if unique is None else float(unique))
    lo, hi = _interval(curve, law, float(loss), Limits())
    if tokens is not None:
        lo, hi = max(lo, math.log(tokens[0])), min(hi, math.log(tokens[1]))
    x = np.linspace(lo, hi, int(points))
    with np.errstate(all="ignore"):
        y = curve.ln_params(x, float(loss))
    ok = np.isfinite(y)
    return np.exp(y[ok]), np.exp(x[ok])


def best_loss(law: Law, values: dict, limits: Limits) -> float:
    """The lowest loss reachable within the limits (the law's infimum over N <= N_max, D <= K*U)."""
    unique = limits.unique_tokens if limits.unique_tokens is not None else UNLIMITED
    curve = _Curve(law, values, unique)
    n = limits.max_params if limits.max_params is not None else UNLIMITED
    d = limits.max_tokens if limits.max_tokens is not None else UNLIMITED
    with np.errstate(all="ignore"):
        return float(curve.loss(n, d, *curve.cs))


def _unreachable_message(curve: _Curve, law: Law, loss: float, limits: Limits) -> str:
    floor = best_loss(law, dict(zip(law.names, curve.cs)) | {"U": curve.cs[-1]}, limits)
    given = []
    if limits.unique_tokens is not None and has_unique_tokens(law) and limits.max_epochs is None:
        given.append(f"--unique-tokens {limits.unique_tokens:g}")
    if limits.max_epochs is not None:
        given.append(f"--unique-tokens {limits.unique_tokens:g} --max-epochs {limits.max_epochs:g}")
    if limits.max_params is not None:
        given.append(f"--max-params {limits.max_params:g}")
    if not given:
        return (f"unreachable: loss {loss:g} is not above the floor of the law {law.name} (about {floor:.6g}, "
                "its limit for large N and D); ask for a larger loss")
    text = (f"unreachable: loss {loss:g} is not reachable within {' '.join(given)} under the law "
            f"{law.name}: the best loss these limits allow is {floor:.6g}")
    if has_unique_tokens(law) and limits.unique_tokens is not None and limits.max_params is None \
            and limits.max_epochs is None:
        need = unique_tokens_for_loss(law, dict(zip(law.names, curve.cs)), loss)
        text += f"; reaching {loss:g} needs more than {need:.4g} unique tokens"
    return text


def _grid(lo: float, hi: float, unique: float, limits: Limits) -> np.ndarray:
    """Scan points in ln D: dense near lo (where N varies fastest), plus the known kink ln U."""
    span = hi - lo
    offsets = np.unique(np.concatenate([np.geomspace(1e-9 * max(span, 1.0), span, SCAN_POINTS),
                                        np.linspace(0.0, span, SCAN_POINTS)]))
    grid = lo + offsets
    extra = [math.log(unique)] if lo < math.log(unique) < hi else []
    return np.unique(np.concatenate([[lo], grid, extra, [hi]]).clip(lo, hi))


def _kinks(curve: _Curve, loss: float, grid: np.ndarray, which: np.ndarray) -> list[float]:
    """ln D where the curve passes from one regime to another (Brent's method between scan points on the
    tightest condition of the regime on the left, which is >= 0 on its side and < 0 beyond)."""
    cuts = []
    for j in np.flatnonzero(which[1:] != which[:-1]):
        a, b, left, right = grid[j], grid[j + 1], int(which[j]), int(which[j + 1])
        for _ in range(len(curve.regimes)):          # the curve may cross several regimes between two points
            cut = _leave(curve, loss, left, a, b)
            cuts.append(cut)
            step = cut + 1e-9 * (b - cut)
            after = int(curve.regime_at(np.exp(curve.ln_params(step, loss)), np.exp(step)))
            if after in (left, right):
                break
            a, left = step, after
    return cuts


def _leave(curve: _Curve, loss: float, regime: int, a: float, b: float) -> float:
    """Where the curve leaves ``regime`` between a (inside) and b (outside)."""
    from scipy.optimize import brentq

    conditions = _conditions(curve.regimes[regime])

    def margin(x):
        n = np.exp(curve.ln_params(x, loss))
        return float(np.min(np.broadcast_arrays(*conditions(n, np.exp(x), *curve.cs), n)[:-1]))

    fa, fb = margin(a), margin(b)
    if fa * fb < 0:  # noise in the margin at rounding level can keep Brent from its tolerance: keep its best point
        root, _ = brentq(margin, a, b, xtol=1e-15, rtol=1e-15, maxiter=400, full_output=True, disp=False)
        return float(root)
    return float(a if fa <= 0 else b)


def _pieces(curve: _Curve, loss: float, lo: float, hi: float, cuts: list, grid: np.ndarray, which: np.ndarray):
    """[(a, b, regime, scan points inside)] of the smooth pieces of the curve between lo and hi."""
    edges = [lo, *sorted(c for c in cuts if lo < c < hi), hi]
    pieces = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        mid = 0.5 * (a + b)
        regime = int(curve.regime_at(np.exp(curve.ln_params(mid, loss)), np.exp(mid)))
        inside = np.union1d(grid[(grid > a) & (grid < b)], np.linspace(a, b, 17)[1:-1])
        pieces.append((a, b, regime, np.concatenate([[a], inside, [b]])))
    return pieces


def _h(curve: _Curve, loss: float, regime: int, x):
    """The demand-free part of the stationarity residual along the curve: ln a_N - ln a_D + x."""
    x = np.asarray(x, float)
    n = np.exp(curve.ln_params(x, loss))
    a_n, a_d = curve.regime_elasticities(regime, n, np.exp(x))
    return np.log(a_n) - np.log(a_d) + x


def _f2(curve: _Curve, loss: float, ln_rho, regime: int, x):
    """The regime's stationarity residual along the curve: > 0 where the objective rises with D."""
    x = np.asarray(x, float)
    return _h(curve, loss, regime, x) - np.logaddexp(x, ln_rho)


def _stationary_points(curve, loss, ln_rho: np.ndarray, regime, inner, h) -> tuple[np.ndarray, np.ndarray]:
    """(scenario index, x) of every root of F2 rising from - to + between the scan points ``inner`` (h: _h
    there), for each scenario's ln rho: the local minima of its objective on this piece."""
    f = h[None, :] - np.logaddexp(inner[None, :], ln_rho[:, None])
    rows, js = np.nonzero((f[:, :-1] < 0) & (f[:, 1:] >= 0))
    x = inner[js + 1].copy()                          # F2 exactly 0 at the right scan point: that is the root
    refine = f[rows, js + 1] > 0
    if refine.any():
        x[refine] = _bracketed_roots(lambda t, sel: _f2(curve, loss, ln_rho[rows[refine][sel]], regime, t),
                                     inner[js[refine]], inner[js[refine] + 1])
    return rows, x


def _bracketed_roots(fn, a: np.ndarray, b: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Roots of fn in brackets [a, b] with fn(a) < 0 < fn(b), each refined on its own (Illinois false position
    with a bisection step when it stalls) until the bracket is at rounding level; ``fn(x, selection)``
    evaluates the functions of the selected brackets."""
    a, b = a.astype(float).copy(), b.astype(float).copy()
    every = np.arange(a.size)
    fa, fb = fn(a, every), fn(b, every)
    x = 0.5 * (a + b)
    side = np.zeros(a.size, dtype=np.int8)            # which end moved last: -1 a, +1 b
    active = np.flatnonzero(np.abs(b - a) > 4e-16 * (1.0 + np.abs(x)))
    for step in range(iterations):
        if active.size == 0:
            break
        aa, bb, fa_, fb_ = a[active], b[active], fa[active], fb[active]
        trial = bb - fb_ * (bb - aa) / (fb_ - fa_)
        halve = (step % 4 == 3) | ~np.isfinite(trial) | (trial <= aa) | (trial >= bb)
        trial = np.where(halve, 0.5 * (aa + bb), trial)
        ft = fn(trial, active)
        x[active] = trial
        low = ft < 0
        high = ft > 0
        a[active] = np.where(low, trial, aa)
        fa[active] = np.where(low, ft, np.where(high & (side[active] == 1), 0.5 * fa_, fa_))
        b[active] = np.where(high, trial, bb)
        fb[active] = np.where(high, ft, np.where(low & (side[active] == -1), 0.5 * fb_, fb_))
        side[active] = np.where(low, -1, np.where(high, 1, 0))
        done = (ft == 0) | ~np.isfinite(ft) | (b[active] - a[active] <= 4e-16 * (1.0 + np.abs(trial)))
        x[active[done & ~(ft == 0)]] = 0.5 * (a[active[done & ~(ft == 0)]] + b[active[done & ~(ft == 0)]])
        active = active[~done]
    return x


def _classify(curve, law, loss, k_train, k_inf, limits, x, y, kind, lo, hi, regime):
    """Where the optimum lies (stationary, kink, or an active limit) and each limit's state and multiplier."""
    n, d = math.exp(y), math.exp(x)
    at_low, at_high = kind == "low" and x <= lo, kind == "high" and x >= hi
    d_active = at_high and limits.max_tokens is not None and abs(x - math.log(limits.max_tokens)) < 1e-12
    n_active = at_low and limits.max_params is not None and abs(n / limits.max_params - 1) < 1e-9
    a_n, a_d = (float(v) for v in curve.regime_elasticities(regime, n, d))
    mu_tokens, mu_params, _ = _multiplier_kernels()
    constraints = []
    if limits.max_tokens is not None:
        mu = mu_tokens(n, d, k_train, k_inf, a_n, a_d) if d_active else 0.0
        constraints.append(Constraint("max_tokens", limits.max_tokens, d_active, float(mu)))
    if limits.max_params is not None:
        mu = mu_params(n, d, k_train, k_inf, a_n, a_d) if n_active else 0.0
        constraints.append(Constraint("max_params", limits.max_params, n_active, float(mu)))
    if d_active:
        where = "max_tokens"
    elif n_active:
        where = "max_params"
    elif kind == "stationary":
        where = "stationary"
    else:
        where = "kink"
    return where, tuple(constraints)


def unique_token_value(law: Law, values: dict, optimum: LimitedOptimum, k_train: float, k_inf: float,
                       unique: float) -> float:
    """-d objective*/dU for a law in U (envelope theorem: lambda * a_U / U, lambda from the N-equation);
    0 when the law does not use U. Objective units per unique token."""
    if not has_unique_tokens(law):
        return 0.0
    curve = _Curve(law, values, unique)
    regime = next(i for i, r in enumerate(curve.regimes) if r.index == optimum.regime)
    n, d = optimum.params, optimum.tokens
    a_n, a_d = (float(v) for v in curve.regime_elasticities(regime, n, d))
    with np.errstate(all="ignore"):
        a_u = float(np.broadcast_to(curve.kernels[regime].a_U(n, d, *curve.cs), ()))
    lam = _multiplier_kernels()[2](n, d, k_train, k_inf, a_n, a_d)
    return float(lam * a_u / unique)


# --- the floor of finite data ---------------------------------------------------------------------
def data_floor(law: Law, values: dict, unique: float) -> float:
    """The loss no N and D reach with U unique tokens: the law's limit for large N and D at that U."""
    return best_loss(law, values, Limits(unique_tokens=unique))


def unique_tokens_for_loss(law: Law, values: dict, loss: float) -> float:
    """The least unique data whose floor is at ``loss`` (any loss above the floor needs more U than this)."""
    def excess(ln_u):
        return np.asarray([data_floor(law, values, math.exp(float(v))) for v in np.ravel(ln_u)]) - loss

    top = LN_BIG - 1.0
    if excess(top)[0] >= 0:
        unlimited = best_loss(law, values, Limits())
        raise InputError(f"unreachable: loss {loss:g} is not above the floor of the law {law.name} with unlimited "
                         f"data (about {unlimited:.6g})")
    if excess(LN_SMALL)[0] < 0:
        return 1.0
    a, b = LN_SMALL, top
    for _ in range(120):
        mid = 0.5 * (a + b)
        a, b = (mid, b) if excess(mid)[0] >= 0 else (a, mid)
    return math.exp(b)


@lru_cache(maxsize=16)
def _derived_kernels(law: Law) -> tuple:
    """((name, numpy function of (N, D, *coefficients, U)), ...) of the law's named pieces."""
    import sympy as sp

    from symscale.laws.parse import parse

    names = tuple(n for n in law.names if n != "U")
    symbols = [sp.Symbol(s, positive=True) for s in ("N", "D", *names, "U")]
    return tuple((key, sp.lambdify(symbols, parse(text, names), modules="numpy")) for key, text in law.derived)


def effective(law: Law, values: dict, params, tokens, unique) -> dict:
    """The law's named pieces (e.g. U_D, N_opt, D_eff, N_eff) at models (floats or arrays), from their formulas."""
    names = tuple(n for n in law.names if n != "U")
    cs = [float(values[n]) for n in names]
    out = {}
    with np.errstate(all="ignore"):
        for key, fn in _derived_kernels(law):
            value = np.asarray(fn(params, tokens, *cs, unique), dtype=float)
            out[key] = float(value) if value.ndim == 0 else np.broadcast_to(value, np.shape(params)).copy()
    return out


# --- what `symscale derive` prints ----------------------------------------------------------------
def steps(law: Law, objective: str = "compute", max_epochs: bool = False, max_params: bool = False) -> list:
    """(key, label, sympy object) of the data-limited problem: the law's pieces as Piecewise, each live regime's
    law and stationarity condition, and with limits the KKT system with complementary slackness."""
    import sympy as sp

    from symscale.laws.parse import parse
    from symscale.problems.generic import D, N, k_inf, k_train, rho
    from symscale.problems.generic import D_inf as d_inf

    subs = {k_train: 6, k_inf: 2 * d_inf, rho: d_inf / 3} if objective == "compute" else {}
    swap = {sp.Symbol("N", positive=True): N, sp.Symbol("D", positive=True): D}
    out = [("objective", "Objective", (k_train * N * D + k_inf * N).subs(subs))]
    names = {parse(text, law.names): sp.Symbol(key) for key, text in law.derived}
    short = {**names, **_piece_names(law)}
    g = sp.Symbol("G")
    g_expr = parse("(alpha*A/(beta*B))**(1/(alpha + beta))", law.names) if {"alpha", "beta", "A", "B"} <= set(
        law.names) else None
    if g_expr is not None:
        short[g_expr] = g
        out.append(("G", "G (Chinchilla's allocation constant of the law's power terms)", sp.Eq(g, g_expr)))
    for key, text in law.derived:
        piece = parse(text, law.names).xreplace({k: v for k, v in short.items() if v != sp.Symbol(key)})
        out.append((f"piece_{key}", f"{key} (min/max as Piecewise)", sp.Eq(sp.Symbol(key),
                                                                         piece.rewrite(sp.Piecewise))))
    if law.derived:
        out.append(("law", f"The law {law.name} in its pieces", sp.Eq(sp.Symbol("L"), law.expr.xreplace(names))))
    else:
        out.append(("law", f"The law {law.name}", sp.Eq(sp.Symbol("L"), law.expr.rewrite(sp.Piecewise))))
    values = next(iter(law.presets.values()))["values"] if law.presets else None
    live = live_regimes(law, values) if values and _has_minmax(law) else regimes(law)
    for r in live:
        a_n, a_d, _ = elasticities(r)
        where = " and ".join(str(c) for c in r.relations) or "everywhere"
        out.append((f"regime_{r.index}", f"Regime {r.index} ({where}): the smooth law there",
                    sp.Eq(sp.Symbol("L"), r.expr.xreplace(swap).xreplace(short))))
        out.append((f"stationarity_{r.index}", f"Regime {r.index}: stationarity D*a_N = (D + rho)*a_D "
                    "(a_N = -N dL/dN, a_D = -D dL/dD)",
                    sp.Eq((D * a_n).xreplace(short), ((D + rho) * a_d).subs(subs).xreplace(short))))
    if len(live) > 1:
        out.append(("kinks", "Kinks: the optimum along each regime boundary on the iso-loss curve is a candidate too",
                    tuple({frozenset(rel.args): sp.Eq(*rel.args) for r in live for rel in r.relations}.values())))
    if max_epochs or max_params:
        out += limit_steps(objective, max_epochs, max_params)
    return out


def limit_steps(objective: str = "compute", max_epochs: bool = True, max_params: bool = True) -> list:
    """The KKT system with the hard limits D <= D_max = K*U and N <= N_max (any law)."""
    import sympy as sp

    from symscale.problems.generic import D_inf as d_inf
    from symscale.problems.generic import k_inf, k_train

    kkt = limit_kkt()
    subs = {k_train: 6, k_inf: 2 * d_inf} if objective == "compute" else {}
    mu_d, mu_n = sp.symbols("mu_D mu_N", real=True)
    drop = {}
    if not max_epochs:
        drop[mu_d] = 0
    if not max_params:
        drop[mu_n] = 0
    def put(e):
        return e.subs(drop).subs(subs)

    feas = [kkt["feasibility"][0]] + ([kkt["feasibility"][1]] if max_epochs else []) + (
        [kkt["feasibility"][2]] if max_params else [])
    steps_ = [
        ("limit_lagrangian", "Lagrangian with the limits (lambda: the loss; mu_D, mu_N >= 0: the limits)",
         put(kkt["lagrangian"])),
        ("limit_stationarity", "Stationarity", tuple(put(e) for e in kkt["stationarity"])),
        ("limit_feasibility", "Primal feasibility" + (" (D_max = K*U)" if max_epochs else ""), tuple(feas)),
        ("limit_dual", "Dual feasibility", tuple(r for r, keep in zip(kkt["dual"], (max_epochs, max_params))
                                                 if keep)),
        ("limit_slackness", "Complementary slackness", tuple(r for r, keep in zip(kkt["slackness"],
                                                                                   (max_epochs, max_params)) if keep)),
    ]
    if max_epochs:
        steps_.append(("mu_D", "Multiplier of D <= D_max when it is active (= -d objective*/d D_max); "
                       "per unique token: K*mu_D", sp.Eq(mu_d, kkt["mu_D"].subs(subs))))
    if max_params:
        steps_.append(("mu_N", "Multiplier of N <= N_max when it is active (= -d objective*/d N_max)",
                       sp.Eq(mu_n, kkt["mu_N"].subs(subs))))
    return steps_


# --- a law in U with unlimited unique data: its smooth regime -------------------------------------
SMOOTH_REGIMES: dict = {}
"""Regime laws handed out by :func:`smooth_regime`, mapped to their regime (for :func:`check_regime`)."""


def smooth_regime(coefficients):
    """A law in U (e.g. muennighoff-2023) with unlimited unique data, as the smooth regime that holds models
    trained on more tokens than their compute-optimal share (N = 1e9 on D = 1e12): LawCoefficients of it.

    The planning questions then run the generic route on that regime's law; every answer is checked to lie
    in the regime (:func:`check_regime`), so a question whose answer is elsewhere is refused, never misanswered."""
    from symscale.laws.values import LawCoefficients

    law = coefficients.law
    full = {**coefficients.values, "U": UNLIMITED}
    for regime in live_regimes(law, coefficients.values):
        with np.errstate(all="ignore"):
            g = _conditions(regime)(1e9, 1e12, *(full[n] for n in regime.law.names))
        if all(float(v) > 0 for v in np.atleast_1d(g)):
            SMOOTH_REGIMES[regime.law] = regime
            return LawCoefficients(regime.law, {n: full[n] for n in regime.law.names}, name=coefficients.name,
                                   source=coefficients.source)
    raise InputError(f"the law {law.name}: no smooth regime holds long-trained models; this question is not "
                     "available for it yet")


def check_regime(law: Law, cs, params, tokens) -> None:
    """Refuse an answer outside the smooth regime a law in U was solved in (no-op for other laws)."""
    regime = SMOOTH_REGIMES.get(law)
    if regime is None:
        return
    params, tokens = np.asarray(params, float), np.asarray(tokens, float)
    with np.errstate(all="ignore"):
        g = [np.asarray(v, float) for v in _conditions(regime)(params, tokens, *cs)]
    scale = np.maximum(params, tokens)
    bad = np.zeros(np.broadcast(params, tokens).shape, bool)
    for v in g:
        bad |= ~(v / scale >= -1e-9)
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        where = " and ".join(str(r) for r in regime.relations)
        raise InputError(f"the answer (N = {np.broadcast_to(params, bad.shape).ravel()[i]:.4g}, D = "
                         f"{np.broadcast_to(tokens, bad.shape).ravel()[i]:.4g}) leaves the regime {where} of the law "
                         "in U this question is solved in (unlimited unique data); not available there yet")
