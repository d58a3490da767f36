"""The registered laws (chinchilla, kaplan-2020) and laws written by the user as a formula."""

from __future__ import annotations

import math
from functools import lru_cache

from ..datafiles import parsed, read_rows
from ..errors import InputError
from ..ranges import FittedRange
from .law import Coefficient, Law

_EXPONENT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)

CHINCHILLA = Law(
    name="chinchilla",
    formula="E + A/N**alpha + B/D**beta",
    coefficients=(
        Coefficient("alpha", 0.0, math.inf, _EXPONENT_GRID, "exponent of the parameter term"),
        Coefficient("beta", 0.0, math.inf, _EXPONENT_GRID, "exponent of the data term"),
        Coefficient("A", 0.0, math.inf, (), "scale of the parameter term"),
        Coefficient("B", 0.0, math.inf, (), "scale of the data term"),
        Coefficient("E", -1e-300, math.inf, (), "irreducible loss (>= 0)"),
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

BUILT_IN = (CHINCHILLA, KAPLAN)


def _values(text: str) -> dict[str, float]:
    pairs = [part.split("=", 1) for part in text.split(";") if part.strip()]
    return {key.strip(): float(value) for key, value in pairs}


@lru_cache(maxsize=1)
def laws() -> dict[str, Law]:
    """Every registered law with its presets, keyed by name."""
    from ..coefficients import presets as chinchilla_presets

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
    from .parse import names_in, parse

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
