"""Fuzz every option of every command (walked from the click objects) with hostile values, in subprocesses.

The short profile (default) is a seeded subset that fits CI; ``SYMSCALE_FUZZ=long`` tries every value of
every option plus random combinations (by hand: tens of minutes).
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzzing  # noqa: E402
from fuzzing import Case, Result, problems  # noqa: E402

PROFILE = os.environ.get("SYMSCALE_FUZZ", "short")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The malformed input files, shared by every case (read-only for the commands)."""
    root = tmp_path_factory.mktemp("fuzz") / "inputs"
    files = fuzzing.make_inputs(root)
    yield files
    for path in root.glob("unreadable*"):
        path.chmod(0o600)


def _leaves():
    from symscale.cli import main

    return list(fuzzing.walk(main))


def test_every_command_has_a_valid_baseline_shape():
    """A new command must get a baseline here, or its options are fuzzed only against a usage error."""
    names = {name for name, _ in _leaves()}
    assert names == set(fuzzing.BASELINES), "commands and fuzz baselines differ"
    for name, command in _leaves():
        params = {p.name for p in command.params}
        for base in fuzzing.BASELINES[name]:
            assert set(base) <= params, f"{name}: baseline names unknown parameters {set(base) - params}"


def test_every_option_of_every_command_is_fuzzed(inputs):
    """The long profile walks every parameter of every leaf command, with several values each."""
    cases = fuzzing.all_cases(inputs)
    seen = defaultdict(int)
    for case in cases:
        seen[(case.command, case.note.split("=")[0])] += 1
    for name, command in _leaves():
        for param in command.params:
            assert seen[(name, param.name)] >= 1, f"{name} {param.name} is never fuzzed"
    assert len(cases) > 5000


def _result(code=2, out="", err="Error: --loss: bad\n", **kw) -> Result:
    case = kw.pop("case", Case("solve", ("--loss", "x"), "test"))
    return Result(case, code, out, err, **kw)


@pytest.mark.parametrize("result, expected", [
    (_result(1, err="Internal error: IndexError: x\n"), "exit 1"),
    (_result(2, err="Traceback (most recent call last):\n  File x\nValueError\n"), "traceback"),
    (_result(2, err="Error: a\nError: b\n"), "2 stderr lines on exit 2"),
    (_result(2, err=""), "0 stderr lines on exit 2"),
    (_result(2, out="partial\n"), "partial stdout on exit 2"),
    (_result(0, out="Optimal params: inf\n", err=""), "nan/inf on stdout"),
    (_result(0, out="saving: nan%\n", err=""), "nan/inf on stdout"),
    (_result(0, out="x\n", err="k.py:3: RuntimeWarning: overflow encountered\n  y\n"), "warning on stderr"),
    (_result(-9, err=""), "killed by signal 9"),
    (_result(None, err="", timed_out=True), "timeout after 20 s"),
    (_result(2, files_after={"out.csv.tmp1": "x"}), "files left behind: out.csv.tmp1"),
    (_result(2, case=Case("sweep", (), "t", ("out.csv",)), files_before={"out.csv": "old"},
             files_after={"out.csv": ""}), "previous file changed by a failed run: out.csv"),
    (_result(0, out="", err="", case=Case("solve", (), "t", stdout_full=True)), "exit 0 with stdout on a full device"),
])
def test_the_judge_catches_each_kind_of_failure(result, expected):
    """Sensitivity: every broken promise is reported."""
    assert expected in problems(result)


def test_the_judge_accepts_clean_results():
    assert problems(_result(2)) == []
    assert problems(_result(0, out="Optimal params: 7.1e9 (inference 2e12)\n", err="")) == []
    assert problems(_result(0, out='{"name": "nan"}\n', err="", case=Case("fit", ("--name", "nan"), "t"))) == []
    assert problems(_result(0, out="objective = 6 D N + 2 D_{inf} N\n", err="")) == []


def test_the_runner_enforces_time_and_memory(tmp_path):
    """The subprocess runner kills a hang and caps memory (a 3 GiB allocation fails)."""
    python = [sys.executable, "-c"]
    hang = fuzzing.run_case(Case("", (), "hang"), tmp_path / "a", timeout=1, prefix=python + ["while True: pass"])
    assert hang.timed_out and problems(hang) == ["timeout after 20 s"]
    big = fuzzing.run_case(Case("", (), "big"), tmp_path / "b", prefix=python + ["bytearray(3 * 2**30)"])
    assert big.code == 1 and "MemoryError" in big.stderr and "memory cap" in problems(big)
    killed = fuzzing.run_case(Case("", (), "kill"), tmp_path / "c",
                              prefix=python + ["import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    assert problems(killed) == ["killed by signal 9"]


def test_fuzz_every_option(inputs, tmp_path):
    """Every selected case exits 0 or 2 cleanly; the baselines themselves exit 0."""
    cases = fuzzing.select(PROFILE, inputs)
    if not fuzzing.RUNS_CSV.is_file():  # the paper's runs live next to the clone; without them fit has no baseline
        cases = [c for c in cases if c.command != "fit"]
    results = fuzzing.run_all(cases, tmp_path)
    broken_baselines = [r.case.shell() for r, _ in results if r.case.note.startswith("baseline") and
                        not r.case.stdout_full and r.code != 0]
    assert not broken_baselines, f"baselines must succeed: {broken_baselines}"
    by_cause: dict[str, list[str]] = defaultdict(list)
    for result, found in results:
        if found:
            by_cause[fuzzing.cause(result, found)].append(result.case.shell())
    lines = [f"{len(cmds)}x {key}\n      e.g. {cmds[0][:300]}" for key, cmds in sorted(by_cause.items())]
    failing = sum(map(len, by_cause.values()))
    assert not by_cause, f"{failing} of {len(cases)} fuzz cases fail ({len(by_cause)} causes):\n" + "\n".join(lines)
