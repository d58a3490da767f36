"""`reproduce` and `check-proof` text that scans: lines <= 120 characters, one table per section, each cause
written once as a footnote, $ on dollar cells, and counts in the text equal to those of the JSON."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from symscale.cli import main

WIDTH = 120
PARTS = ("table1", "table2", "table3", "claims")
SUMMARY = re.compile(r"^(\d+) match to the printed precision, (\d+) differ with a cause found, (\d+) differ with no "
                     r"cause found\.$", re.M)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def reproduced() -> tuple[dict[str, str], dict]:
    """The text of each section of `reproduce all`, and its JSON."""
    code, text, _ = _run("reproduce", "all")
    assert code == 0
    code, raw, _ = _run("reproduce", "all", "--json")
    assert code == 0
    return _sections(text), json.loads(raw)


def _sections(text: str) -> dict[str, str]:
    """Split the `reproduce all` text at its four titles."""
    starts = [m.start() for m in re.finditer(r"^(Table \d \(|Claims in the text)", text, re.M)]
    return {part: text[a:b] for part, a, b in zip(PARTS, starts, starts[1:] + [len(text)])}


def _footnotes(section: str) -> list[str]:
    """The footnote texts of a section ('  [k] text', continuation lines joined)."""
    notes, current = [], None
    for line in section.splitlines():
        mark = re.match(r"^  \[(\d+)\] (.*)$", line)
        if mark:
            current = [mark.group(2)]
            notes.append(current)
        elif current is not None and line.startswith("      "):
            current.append(line.strip())
        else:
            current = None
    return [" ".join(parts) for parts in notes]


def _rows(section: str) -> list[list[str]]:
    """The table's rows (first lines only), split into cells at runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in section.splitlines() if re.match(r"^\s?\d+\. ", line)]


@pytest.mark.parametrize("part", PARTS)
def test_every_line_fits_in_120_characters(reproduced, part):
    sections, _ = reproduced
    assert max(map(len, sections[part].splitlines())) <= WIDTH


@pytest.mark.parametrize("part", PARTS)
def test_one_table_per_section_and_every_check_a_row(reproduced, part):
    sections, data = reproduced
    assert sections[part].count("\n---") == 1
    assert len(_rows(sections[part])) == len(data[part]["checks"])


@pytest.mark.parametrize("part", PARTS)
def test_each_footnote_is_written_once_and_referenced(reproduced, part):
    sections, _ = reproduced
    notes = _footnotes(sections[part])
    assert len(notes) == len(set(notes))
    for k in range(1, len(notes) + 1):
        assert re.search(rf"\[(\d+,)*{k}(,\d+)*\]\s*$", sections[part], re.M), f"footnote {k} is not referenced"


def test_the_table1_note_appears_once_not_per_coefficient(reproduced):
    sections, data = reproduced
    explained = [c for c in data["table1"]["checks"] if c["status"] == "explained"]
    assert len(explained) > 5
    assert sections["table1"].count("flat valley") == 1
    assert sections["table1"].count("lower Huber objective") == 1


def test_dollar_cells_start_with_a_dollar_sign(reproduced):
    sections, data = reproduced
    rows = _rows(sections["table3"])
    dollar_rows = [(row, check) for row, check in zip(rows, data["table3"]["checks"])
                   if check["item"].endswith("total_cost") and "saving" not in check["item"]]
    assert len(dollar_rows) == 10
    for row, _ in dollar_rows:
        paper, ours = row[1], row[2]
        assert paper.startswith("$") and ours.startswith("$"), row
        assert row[4].startswith("$") and row[5].startswith("$"), row  # at $1.00/h and the fitted price
    others = [row for row, check in zip(rows, data["table3"]["checks"]) if not check["item"].endswith("_cost")]
    assert not any(cell.startswith("$") for row in others for cell in row[1:3])


@pytest.mark.parametrize("part", PARTS)
def test_counts_in_the_text_equal_the_json_and_the_table(reproduced, part):
    sections, data = reproduced
    found = SUMMARY.findall(sections[part])
    assert len(found) == 1
    match, explained, unexplained = map(int, found[0])
    assert {"match": match, "explained": explained, "unexplained": unexplained} == data[part]["summary"]
    verdicts = [row[-1] for row in _rows(sections[part])]
    assert sum(v == "match" for v in verdicts) == match
    assert sum(v.startswith("cause found") for v in verdicts) == explained
    assert sum(v.startswith("no cause found") for v in verdicts) == unexplained


# --- check-proof -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proof() -> tuple[str, dict]:
    code, text, _ = _run("check-proof")
    assert code == 0
    code, raw, _ = _run("check-proof", "--format", "json")
    assert code == 0
    return text, json.loads(raw)


def test_check_proof_lines_fit_in_120_characters(proof):
    text, _ = proof
    assert max(map(len, text.splitlines())) <= WIDTH
    code, one, _ = _run("check-proof", "--step", "chinchilla-limit")
    assert code == 0 and max(map(len, one.splitlines())) <= WIDTH


def test_check_proof_summary_equals_its_table_and_json(proof):
    text, data = proof
    table = [line.split()[-1] for line in text.split("\n\n")[1].splitlines()]
    assert len(table) == len(data["steps"]) == 13
    found = re.search(r"^(\d+) steps: (\d+) hold, (\d+) imprecise, (\d+) fails?", text, re.M)
    total, holds, imprecise, fails = map(int, found.groups())
    assert total == len(table)
    assert {"holds": holds, "imprecise": imprecise, "fails": fails} == data["counts"]
    assert {v: table.count(v) for v in ("holds", "imprecise", "fails")} == data["counts"]


def test_check_proof_format_json_is_the_json_shorthand(proof):
    _, data = proof
    code, raw, _ = _run("check-proof", "--json")
    assert code == 0 and json.loads(raw) == data


def test_check_proof_format_latex_and_the_deprecated_flag():
    code, latex, err = _run("check-proof", "--format", "latex")
    assert code == 0 and not err
    assert latex.startswith("% Inputs: ") and r"\textbf{\text{eq11}}" in latex
    assert "Inputs" not in latex.split("\n", 1)[1]
    code, old, err = _run("check-proof", "--latex")
    assert code == 0 and old == latex
    assert err.strip() == "Note: --latex is renamed --format latex; the old name will be removed"
    code, _, err = _run("check-proof", "--json", "--format", "latex")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_check_proof_help_lists_format_not_the_old_flag():
    code, text, _ = _run("check-proof", "--help")
    assert code == 0 and "--format [text|json|latex]" in text and "--latex" not in text
