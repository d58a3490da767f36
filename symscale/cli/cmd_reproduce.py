"""`symscale reproduce`: the paper's Tables 1-3 and quantitative claims beside symscale's values, with verdicts."""

from __future__ import annotations

import click

from symscale.cli.common import coefficient_options, coefficients_from_options, emit_json

PARTS = ("table1", "table2", "table3", "claims")
TITLES = {
    "table1": "Table 1 (Section 5): Huber fit of the law to the 47 runs",
    "table2": "Table 2 (Appendix B.1): compute-optimal vs Chinchilla-style models",
    "table3": "Table 3 (Appendix B.2): cost-optimal vs Chinchilla-style models (Figure 6 settings)",
    "claims": "Claims in the text (Sections 1, 2 and 6, Figure 1)",
}


def run_part(part: str, coefficients, runs: str) -> list:
    """The checks of one part of the paper."""
    from symscale.report import reproduce

    if part == "table1":
        return reproduce.table1(runs)
    return getattr(reproduce, part)(coefficients)


WIDTH = 120
"""The widest line of the text report."""

VERDICT_TEXT = {"match": "match", "explained": "cause found", "unexplained": "no cause found"}
COLUMNS = {  # readings shown as a column when at least COLUMN_MIN checks of a part have them: header, legend
    "AT_TABLE3_PRICE": ("at $1.00/h", "symscale's value with {label}"),
    "FITTED_PRICE": ("needs $/h", "{label}"),
}
COLUMN_MIN = 3


def _columns() -> dict[str, tuple[str, str]]:
    """Reading label -> (column header, legend)."""
    from symscale.report import reproduce

    out = {}
    for name, (header, legend) in COLUMNS.items():
        label = getattr(reproduce, name)
        out[label] = (header, legend.format(label=label))
    return out


def _is_dollars(check) -> bool:
    """Whether a check's value is an amount of dollars (a *_cost quantity that is not a ratio)."""
    return check.item.endswith("_cost") and not check.printed.endswith(("%", "x"))


def _cell(check, value: float) -> str:
    """symscale's value in the style of the printed one; dollars with $ (symscale.base.numbers.dollars)."""
    from symscale.base.numbers import dollars
    from symscale.report.reproduce import show

    if _is_dollars(check):
        return dollars(value, max(check.sig_figs, 2) + 2)
    return show(value, check.printed, 2)


def _reading_cell(check, label: str) -> str:
    from symscale.report.reproduce import FITTED_PRICE

    value = check.readings.get(label)
    if value is None:
        return ""
    return f"${value:.3f}" if label == FITTED_PRICE else _cell(check, value)


def _item(check) -> str:
    """The row label, 'row 1 (1B Chinchilla): loss' shortened to '1B Chinchilla: loss'."""
    import re

    return re.sub(r"^row \d+ \((\S+ Chinchilla)\): ", r"\1: ", check.item)


def _notes(check, columns: set[str]) -> list[str]:
    """The footnote texts of one check: its causes, and the readings not shown as columns with their values."""
    from symscale.report.reproduce import FITTED_PRICE, matches

    notes = list(check.notes)
    for label in check.readings:
        if label in columns:
            continue
        cell = _reading_cell(check, label)
        if label == FITTED_PRICE:
            notes.append(f"the printed value needs inference at {cell}/h")
        elif matches(check.readings[label], check.paper, check.sig_figs):
            notes = [n for n in notes if n != f"matches with {label}"] + [f"matches with {label} ({cell})"]
        else:
            notes.append(f"{label} gives {cell}")
    return notes


def _wrap(text: str, indent: str, width: int = WIDTH) -> list[str]:
    """``text`` wrapped to ``width``, continuation lines indented to line up after ``indent``."""
    import textwrap

    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=" " * len(indent),
                         break_on_hyphens=False) or [indent.rstrip()]


def render_part(part: str, checks: list, width: int = WIDTH) -> str:
    """Text: one table (printed value, symscale's, other readings, verdict), each cause once as a footnote, counts."""
    from symscale.report.reproduce import summary

    labels = {label for check in checks for label in check.readings}
    columns = {label: names for label, names in _columns().items()
               if sum(label in c.readings for c in checks) >= COLUMN_MIN and label in labels}
    footnotes: dict[str, int] = {}
    rows = []
    for n, check in enumerate(checks, 1):
        marks = [footnotes.setdefault(note, len(footnotes) + 1) for note in _notes(check, set(columns))]
        verdict = VERDICT_TEXT[check.status] + (f" [{','.join(map(str, marks))}]" if marks else "")
        paper = ("$" + check.printed) if _is_dollars(check) and not check.printed.startswith("$") else check.printed
        rows.append((f"{n:>2}. {_item(check)}", paper, _cell(check, check.ours), f"{100 * check.rel_diff:+.2f}%",
                     *(_reading_cell(check, label) for label in columns), verdict))
    header = ("", "paper", "symscale", "rel. diff", *(head for head, _ in columns.values()), "verdict")
    lines = [TITLES[part], "", _table(rows, header, width)]
    if columns:
        legend = "; ".join(f"'{head}' is {text}" for head, text in columns.values())
        lines += ["", *_wrap(f"Columns: {legend}.", "")]
    if footnotes:
        lines += ["", "Causes of the differences:"]
        lines += [line for note, k in footnotes.items() for line in _wrap(note, f"  [{k}] ", width)]
    counts = summary(checks)
    lines += ["", f"{counts['match']} match to the printed precision, {counts['explained']} differ with a cause "
                  f"found, {counts['unexplained']} differ with no cause found."]
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...], width: int) -> str:
    """A table no wider than ``width``: the first column wrapped when needed, the verdict left-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    spare = width - (sum(widths) + 2 * (len(widths) - 1))
    if spare < 0:
        widths[0] = max(widths[0] + spare, 20)
    lines = []
    for n, row in enumerate([header, *rows]):
        first = _wrap(row[0], "", widths[0])
        first = [first[0]] + ["    " + line for line in _wrap(" ".join(first[1:]), "", widths[0] - 4)] \
            if len(first) > 1 else first
        for k, label in enumerate(first):
            cells = [label.ljust(widths[0])]
            if k == 0:
                cells += [cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:-1])] + [row[-1].ljust(widths[-1])]
            lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
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
    from symscale.report.reproduce import summary

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
