"""Every `symscale ...` example in the README's shell blocks runs and succeeds, so the README cannot drift.

Lines with placeholders (``[...]``, ``FILE``, ``RUNS.csv``, ``...``) are templates, not examples, and are
skipped; multi-line commands joined on their backslashes; comments removed. Files an example reads are
written first (``scenarios.csv``); files it writes land in a temporary directory.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PLACEHOLDER = re.compile(r"\[|\.\.\.|\bFILE\b|RUNS\.csv|DATASET|\bPRESET\b|<")
SLOW = ("--bootstrap 1000", "verify --random 1000", "reproduce all", "reproduce table1", "fit --runs", ":1000 ")


def examples() -> list[str]:
    text = README.read_text()
    found = []
    for block in re.findall(r"```(?:shell|bash|sh)\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if line.startswith("symscale ") and not PLACEHOLDER.search(line):
                found.append(line)
    return found


def test_the_readme_has_examples():
    assert len(examples()) >= 15


@pytest.mark.parametrize("command", [c for c in examples() if not any(s in c for s in SLOW)])
def test_readme_example_runs(command, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios.csv").write_text("loss,inference_tokens\n1.947,2e12\n2.1,1e11\n")
    args = shlex.split(command)[1:]
    if "fit.json" in args and "fit-score" not in args:  # written by the README's fit-score example
        assert run_cli("fit-score", "--runs", "sardana-2024", "--score-col", "eval_gauntlet/core_average",
                       "--score-col", "mmlu_5_shot_avg", "--with-law", "-o", "fit.json")[0] == 0
    if "plot" in args:
        pytest.importorskip("matplotlib")
    code, out, err = run_cli(*args)
    assert code == 0, f"{command}\n{err}"
    if "-o" in args:  # the answer is the file written
        written = tmp_path / args[args.index("-o") + 1]
        assert written.is_file() and written.stat().st_size > 0, command
    else:
        assert out.strip(), command
