"""``symscale laws``: the registered scaling laws, their coefficients, presets and sources."""

from __future__ import annotations

import math

import click

from symscale.cli.common import emit_json


def _domain(c) -> str:
    """'alpha > 0', 'E >= 0', '0 < g < 1' or 'C real' (no 'inf' printed as an answer)."""
    low = None if math.isinf(c.lower) else (0.0 if -1e-299 < c.lower < 0 else c.lower)
    sign = ">=" if low == 0.0 and c.lower < 0 else ">"
    if low is None and math.isinf(c.upper):
        return f"{c.name} real"
    if math.isinf(c.upper):
        return f"{c.name} {sign} {low:g}"
    if low is None:
        return f"{c.name} < {c.upper:g}"
    return f"{low:g} {'<=' if sign == '>=' else '<'} {c.name} < {c.upper:g}"


@click.command("laws")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: `laws`, a list of {name, expression, coefficients, presets, source, notes}.")
def laws_command(as_json: bool) -> None:
    """The registered scaling laws: formula, coefficients (with domains), presets and source.

    Any command that takes coefficients takes --law NAME, or --law FORMULA with --set NAME=VALUE
    (or a JSON file {"law": FORMULA, "coefficients": {...}} as --coefficients).
    """
    from symscale.laws.registry import laws

    table = list(laws().values())
    if as_json:
        emit_json({"laws": [law.as_dict() for law in table]})
        return
    blocks = []
    for law in table:
        variables = "N, D, U" if law.uses_unique_tokens else "N, D"
        lines = [f"{law.name}:  L({variables}) = {law.formula}", f"  Source: {law.source}"]
        if law.notes:
            lines.append(f"  Note: {law.notes}")
        lines.append("  Coefficients: " + ", ".join(_domain(c) for c in law.coefficients))
        for name, preset in law.presets.items():
            values = ", ".join(f"{k} = {v:g}" for k, v in preset["values"].items())
            lines.append(f"  Preset {name}: {values}")
        blocks.append("\n".join(lines))
    click.echo("\n\n".join(blocks))


COMMANDS = [laws_command]
