"""The registered laws (chinchilla, kaplan-2020) and laws written by the user as a formula."""

from __future__ import annotations

import math
from functools import lru_cache

from symscale.base.datafiles import parsed, read_rows
from symscale.base.errors import InputError
from symscale.laws.law import Coefficient, Law
from symscale.laws.ranges import FittedRange

_EXPONENT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)

_CHINCHILLA_TERMS = (
    Coefficient("alpha", 0.0, math.inf, _EXPONENT_GRID, "exponent of the parameter term"),
    Coefficient("beta", 0.0, math.inf, _EXPONENT_GRID, "exponent of the data term"),
    Coefficient("A", 0.0, math.inf, (), "scale of the parameter term"),
    Coefficient("B", 0.0, math.inf, (), "scale of the data term"),
    Coefficient("E", -1e-300, math.inf, (), "irreducible loss (>= 0)"),
)
"""Chinchilla's five coefficients, shared by the laws built on its terms."""

CHINCHILLA = Law(
    name="chinchilla",
    formula="E + A/N**alpha + B/D**beta",
    coefficients=(
        *_CHINCHILLA_TERMS,
    ),
    source="Hoffmann et al. 2022 (Chinchilla), Eq. 10; Sardana et al. 2024, Eq. 1",
    notes="N parameters, D training tokens; presets in data/coefficients.csv.",
)

KAPLAN = Law(
    name="kaplan-2020",
    formula="((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D",
    coefficients=(
        Coefficient("alpha_N", 0.0, math.inf, (0.05, 0.1, 0.2), "exponent of the parameter term"),
        Coefficient("alpha_D", 0.0, math.inf, (0.05, 0.1, 0.2), "exponent of the data term"),
        Coefficient("N_c", 0.0, math.inf, (), "parameter scale (non-embedding parameters)"),
        Coefficient("D_c", 0.0, math.inf, (), "data scale (tokens)"),
    ),
    source="Kaplan et al. 2020, Scaling Laws for Neural Language Models, Eq. 1.5 (joint fit, Table 2)",
    notes="N counts non-embedding parameters; the loss is in nats per token on WebText2, not comparable "
          "with the Chinchilla presets' losses.",
)

# Muennighoff et al. 2023: repeated tokens and excess parameters decay; U is the available unique data.
_U_D = "min(U, D)"                                                     # unique tokens used
_G = "(alpha*A/(beta*B))**(1/(alpha + beta))"
_N_OPT = f"{_G}*({_U_D}*{_G})**(beta/alpha)"                           # compute-optimal size for U_D tokens
_U_N = f"min(N, {_N_OPT})"
_D_EFF = f"{_U_D}*(1 + Rstar_D*(1 - exp(-max(D/{_U_D} - 1, 0)/Rstar_D)))"
_N_EFF = f"{_U_N}*(1 + Rstar_N*(1 - exp(-max(N/{_U_N} - 1, 0)/Rstar_N)))"

MUENNIGHOFF = Law(
    name="muennighoff-2023",
    formula=f"E + A/({_N_EFF})**alpha + B/({_D_EFF})**beta",
    coefficients=(
        *_CHINCHILLA_TERMS,
        Coefficient("Rstar_D", 0.0, math.inf, (), "decay constant of repeated epochs (R_D*)"),
        Coefficient("Rstar_N", 0.0, math.inf, (), "decay constant of excess parameters (R_N*)"),
    ),
    source="Muennighoff et al. 2023, Scaling Data-Constrained Language Models (NeurIPS), Eqs. 5-6 and App. A "
           "(C4 fit)",
    notes="U is the available unique training data (--unique-tokens; unlimited when not given). Losses are on C4 "
          "with the paper's tokenizer: not comparable with the Chinchilla presets' losses.",
    derived=(("U_D", _U_D), ("N_opt", _N_OPT), ("D_eff", _D_EFF), ("N_eff", _N_EFF)),
)

BUILT_IN = (CHINCHILLA, KAPLAN, MUENNIGHOFF)


def _values(text: str) -> dict[str, float]:
    pairs = [part.split("=", 1) for part in text.split(";") if part.strip()]
    return {key.strip(): float(value) for key, value in pairs}


@lru_cache(maxsize=1)
def laws() -> dict[str, Law]:
    """Every registered law with its presets, keyed by name."""
    from symscale.laws.coefficients import presets as chinchilla_presets

    table = {law.name: law for law in BUILT_IN}
    for name, c in chinchilla_presets().items():
        table["chinchilla"].presets[name] = {"values": c.as_dict(), "source": c.source}
    for name, c in chinchilla_presets().items():
        table["chinchilla"].presets[name]["range"] = c.fitted_range
    rows = read_rows("law_presets.csv", ("law", "preset", "values", "source"))
    for law_name, preset, values, source, fitted in parsed(
            "law_presets.csv", rows,
            lambda r: (r["law"], r["preset"], _values(r["values"]), r["source"], FittedRange.from_row(r))):
        if law_name in table:
            table[law_name].presets[preset] = {"values": values, "source": source, "range": fitted}
    return table


def get(name: str) -> Law:
    """A registered law by name (any case)."""
    table = laws()
    key = name.strip().lower()
    if key not in table:
        raise InputError(f"unknown law {name!r}; registered laws: {', '.join(table)} (or write a formula in N and D)")
    return table[key]


def looks_like_formula(spec: str) -> bool:
    """A formula rather than a registered name: it has an operator or a parenthesis."""
    return any(ch in spec for ch in "+-*/()")


def custom(formula: str, name: str = "custom") -> Law:
    """A law written by the user; its coefficients are the names it uses besides N, D, U (domain: all reals)."""
    from symscale.laws.parse import names_in, parse

    names = names_in(formula)
    parse(formula, names)  # refuse anything outside the grammar now, with one line
    return Law(name=name, formula=formula.strip(),
               coefficients=tuple(Coefficient(n, -math.inf, math.inf) for n in names),
               source="given on the command line" if name == "custom" else "")


def resolve_law(spec: str | Law | None) -> Law:
    """A registered law by name, a Law, or a formula; None is chinchilla."""
    if spec is None:
        return get("chinchilla")
    if isinstance(spec, Law):
        return spec
    text = str(spec)
    if text.strip().lower() in laws() or not looks_like_formula(text):
        return get(text)
    return custom(text)
