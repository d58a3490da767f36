"""`symscale reproduce`: the paper's Tables 1-3 and quantitative claims beside symscale's values, with verdicts."""

from __future__ import annotations

import click

from .common import coefficient_options, coefficients_from_options, emit_json, render_table

PARTS = ("table1", "table2", "table3", "claims")
TITLES = {
    "table1": "Table 1 (Section 5): Huber fit of the law to the 47 runs",
    "table2": "Table 2 (Appendix B.1): compute-optimal vs Chinchilla-style models",
    "table3": "Table 3 (Appendix B.2): cost-optimal vs Chinchilla-style models (Figure 6 settings)",
    "claims": "Claims in the text (Sections 1, 2 and 6, Figure 1)",
}
VERDICT = {"match": "match", "explained": "differs (cause found)", "unexplained": "differs (no cause found)"}


def run_part(part: str, coefficients, runs: str) -> list:
    """The checks of one part of the paper."""
    from .. import reproduce

    if part == "table1":
        return reproduce.table1(runs)
    return getattr(reproduce, part)(coefficients)


def render_part(part: str, checks: list) -> str:
    """Text: one line per printed number, the cause under each difference, and a count."""
    from ..reproduce import show, summary

    rows, notes = [], []
    for n, check in enumerate(checks, 1):
        ours = show(check.ours, check.printed, 2)
        rows.append((f"{n:>2}. {check.item}", check.printed, ours, f"{100 * check.rel_diff:+.2f}%",
                     VERDICT[check.status]))
        if check.status != "match":
            notes.append(f"  {n:>2}. {check.reason}")
    counts = summary(checks)
    lines = [TITLES[part], "", render_table(rows, ("", "paper", "symscale", "rel. diff", "verdict"))]
    if notes:
        lines += ["", "Causes of the differences:", *notes]
    lines += ["", f"{counts['match']} match to the printed precision, {counts['explained']} differ with a cause "
                  f"found, {counts['unexplained']} differ with no cause found."]
    return "\n".join(lines)


@click.command()
@click.argument("what", type=click.Choice([*PARTS, "all"]))
@click.option("--runs", default="sardana-2024", show_default=True, metavar="FILE|DATASET",
              help="The training runs table1 refits: the bundled 47 runs of the paper, or a CSV file of the same "
              "columns.")
@coefficient_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def reproduce(what: str, runs: str, as_json: bool, **kwargs) -> None:
    """Compare symscale with the paper: table1, table2, table3, claims, or all.

    Each printed number is shown beside symscale's, with the relative difference and a verdict: it
    matches when symscale's value rounded to the printed significant figures equals it; otherwise the
    cause is diagnosed (a typo off by a power of ten, rounding of a rounded value, the inference price
    Table 3 is consistent with) or reported as not found.

    Example: symscale reproduce table2
    """
    from ..reproduce import summary

    coefficients = coefficients_from_options(kwargs)
    parts = list(PARTS) if what == "all" else [what]
    report, texts = {}, []
    for part in parts:
        checks = run_part(part, coefficients, runs)
        report[part] = {"checks": [c.as_dict() for c in checks], "summary": summary(checks)}
        texts.append(render_part(part, checks))
    if as_json:
        emit_json({"coefficients": {**coefficients.as_dict(), "name": coefficients.name}, **report})
    else:
        click.echo("\n\n".join(texts))


COMMANDS = [reproduce]
