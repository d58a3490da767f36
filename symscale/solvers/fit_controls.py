"""Fit controls for any law: fixed and tied coefficients, and the choice of the per-run loss function.

Fixing a coefficient substitutes its value into the law's expression, tying one coefficient to another
substitutes one symbol for the other; the fit then runs on the reduced law, whose residual, gradient and
Hessian sympy derives as for any law (:mod:`symscale.problems.fit_generic`). The per-run loss rho(r) of the
log residual r — Huber (the paper's), squared error, or an asymmetric squared error that weighs
over-prediction (r > 0) by a factor K — is written once in sympy here and its first and second derivatives
are derived from it. The objective is always the sum over runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp

from symscale.base.errors import InputError
from symscale.laws.law import Law

OBJECTIVES = ("huber", "mse", "asymmetric")
DESCRIPTIONS = {
    "huber": "sum of Huber_delta(r) over runs, r = ln(predicted/observed loss) (the paper's Eq. 4)",
    "mse": "sum of r**2 over runs, r = ln(predicted/observed loss)",
    "asymmetric": "sum of K*r**2 (r > 0, over-prediction) or r**2 (r <= 0) over runs, r = ln(predicted/observed loss)",
}


@dataclass(frozen=True)
class Controls:
    """--fix NAME=VALUE, --tie NAME=OTHER, --objective-function and --overestimate-penalty."""

    fixed: tuple[tuple[str, float], ...] = ()
    tied: tuple[tuple[str, str], ...] = ()   # (name, the coefficient it takes the value of)
    objective: str = "huber"
    penalty: float = 1.0
    original: Law | None = field(default=None, compare=False)

    @property
    def constrained(self) -> bool:
        return bool(self.fixed or self.tied)

    def describe(self) -> dict:
        return {"fixed": dict(self.fixed), "tied": dict(self.tied), "objective_function": self.objective,
                "objective_description": DESCRIPTIONS[self.objective],
                **({"overestimate_penalty": self.penalty} if self.objective == "asymmetric" else {})}


def make_controls(law: Law, fixed: dict, tied: dict, objective: str = "huber",
                  penalty: float | None = None) -> Controls:
    """Check the controls against the law (names, domains, no cycles) and bundle them."""
    names = law.names
    for name, value in fixed.items():
        if name not in names:
            raise InputError(f"--fix {name}={value:g}: the law {law.name} has no coefficient {name!r} "
                             f"(it has {', '.join(names)})")
        law.coefficient(name).check(value, law.name)
    for name, other in tied.items():
        for n in (name, other):
            if n not in names:
                raise InputError(f"--tie {name}={other}: the law {law.name} has no coefficient {n!r} "
                                 f"(it has {', '.join(names)})")
        if name == other:
            raise InputError(f"--tie {name}={other}: a coefficient cannot be tied to itself")
        if name in fixed or other in fixed:
            raise InputError(f"--tie {name}={other}: {name if name in fixed else other} is also fixed; "
                             "fix both with --fix instead")
        if other in tied:
            raise InputError(f"--tie {name}={other}: {other} is itself tied; tie both to the same coefficient")
    if objective not in OBJECTIVES:
        raise InputError(f"--objective-function {objective}: choose one of {', '.join(OBJECTIVES)}")
    if penalty is not None and objective != "asymmetric":
        raise InputError(f"--overestimate-penalty {penalty:g} applies to --objective-function asymmetric")
    penalty = 1.0 if penalty is None else float(penalty)
    if not (math.isfinite(penalty) and penalty > 0):
        raise InputError(f"--overestimate-penalty {penalty:g}: must be a positive number")
    if len(fixed) + len(tied) >= len(names):
        raise InputError(f"--fix/--tie leave no coefficient of the law {law.name} to fit")
    return Controls(tuple(fixed.items()), tuple(tied.items()), objective, penalty, law)


def constrain(law: Law, controls: Controls) -> Law:
    """The reduced law: fixed values and tied symbols substituted into the expression, those coefficients gone."""
    if not controls.constrained:
        return law
    symbols = {s.name: s for s in law.expr.free_symbols}
    subs = {symbols[n]: sp.Float(v) for n, v in controls.fixed if n in symbols}
    subs.update({symbols[n]: symbols[o] for n, o in controls.tied if n in symbols and o in symbols})
    expr = law.expr.xreplace(subs)
    gone = {n for n, _ in controls.fixed} | {n for n, _ in controls.tied}
    parts = [f"{n}={v:g}" for n, v in controls.fixed] + [f"{n}={o}" for n, o in controls.tied]
    reduced = Law(name=f"{law.name} with {', '.join(parts)}", formula=str(expr),
                  coefficients=tuple(c for c in law.coefficients if c.name not in gone), source=law.source,
                  presets={k: {**p, "values": {n: v for n, v in p["values"].items() if n not in gone}}
                           for k, p in law.presets.items()})
    reduced.__dict__["expr"] = expr  # the exact substituted expression (cached_property slot)
    return reduced


def expand(controls: Controls, values: dict) -> dict:
    """Values (or sample arrays) of every coefficient of the original law, from those of the reduced law."""
    full = dict(values)
    some = next(iter(values.values()))
    for name, value in controls.fixed:
        full[name] = np.full_like(np.asarray(some, dtype=float), value) if np.ndim(some) else float(value)
    for name, other in controls.tied:
        full[name] = full[other]
    return {n: full[n] for n in controls.original.names} if controls.original is not None else full


@lru_cache(maxsize=16)
def loss_functions(objective: str, delta: float, penalty: float):
    """numpy functions (rho, rho', rho'') of the log residual r, derived by sympy from rho."""
    if objective == "huber":  # the generated kernels of symscale.problems.fit (same sympy source)
        from symscale.kernels import fit as HK

        return (lambda r: HK.huber(r, delta), lambda r: HK.huber_d1(r, delta), lambda r: HK.huber_d2(r, delta))
    r = sp.Symbol("r", real=True)
    if objective == "mse":
        rho = r**2
    else:
        rho = sp.Piecewise((sp.Float(penalty) * r**2, r > 0), (r**2, True))
    d1 = sp.diff(rho, r)
    d2 = sp.diff(d1, r)
    return tuple(_vectorised(sp.lambdify(r, e, modules="numpy")) for e in (rho, d1, d2))


def _vectorised(f):
    def call(r):
        r = np.asarray(r, dtype=float)
        return np.broadcast_to(np.asarray(f(r), dtype=float), r.shape)
    return call
