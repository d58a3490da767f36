"""Every `symscale ...` example in the README's shell blocks runs and succeeds, and the figures the README states
beside it are the ones it prints, so the README cannot drift.

Lines with placeholders (``[...]``, ``FILE``, ``RUNS.csv``, ``...``) are templates, not examples, and are
skipped; multi-line commands joined on their backslashes; comments removed. Files an example reads are
written first (``scenarios.csv``); files it writes land in a temporary directory.

Figures are tied to an example in one of two ways (a figure is a number as symscale prints it: 24.18B,
2.657T, 70.96%, 4.823e+23, $1.43M, 13.4×, 1,210):

- a trailing comment that starts with ``# =>`` on the example's line in a shell block: every figure in it
  must appear in that command's output;
- an HTML comment ``<!-- expect: FIG; FIG; ... -->`` after the prose below a shell block: every figure must
  appear in the output of the last example of that block (or of the command it names:
  ``<!-- expect `symscale ...`: FIG; ... -->``) *and* in the README text between the block and the
  comment, so the prose cannot drift from what the command prints.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FIGURE = re.compile(r"-?\$?\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?(?:[kMBTP]|%|×)?")
EXPECT = re.compile(r"<!-- expect(?: `(symscale [^`]+)`)?: (.*?) -->", re.S)
PLACEHOLDER = re.compile(r"\[|\.\.\.|\bFILE\b|RUNS\.csv|DATASET|\bPRESET\b|<")
SLOW = ("--bootstrap 1000", "verify --random 1000", "reproduce all", "reproduce table1", "fit --runs", ":1000 ")


def _command(line: str) -> str:
    """The command of a shell line, without its trailing comment ('' when it is not an example)."""
    line = line.split("  #")[0].split(" # ")[0].strip()
    return line if line.startswith("symscale ") and not PLACEHOLDER.search(line) else ""


def _blocks(text: str) -> list[re.Match]:
    return list(re.finditer(r"```(?:shell|bash|sh)\n(.*?)```", text, re.S))


def examples() -> list[str]:
    """Every example command of the README's shell blocks."""
    found = []
    for block in _blocks(README.read_text()):
        joined = re.sub(r"\\\n\s*", " ", block.group(1))
        found += [c for c in map(_command, joined.splitlines()) if c]
    return found


def figures(text: str) -> list[str]:
    """The figures (numbers as printed) in a piece of text."""
    return FIGURE.findall(text)


def expectations() -> list[tuple[str, tuple[str, ...], str]]:
    """(command, figures, prose the figures must also appear in) for every `# =>` and `<!-- expect -->`."""
    text, found = README.read_text(), []
    blocks = _blocks(text)
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block.group(1))
        for line in joined.splitlines():
            command, _, said = line.partition("# =>")
            if said and _command(command):
                found.append((_command(command), tuple(figures(said)), ""))
    for mark in EXPECT.finditer(text):
        named, said = mark.groups()
        above = [b for b in blocks if b.end() < mark.start()]
        assert above, f"<!-- expect: {said} --> has no shell block above it"
        joined = re.sub(r"\\\n\s*", " ", above[-1].group(1))
        commands = [c for c in map(_command, joined.splitlines()) if c]
        assert named or commands, f"<!-- expect: {said} -->: the shell block above it has no example"
        wanted = tuple(f.strip() for f in said.split(";") if f.strip())
        found.append((" ".join(named.split()) if named else commands[-1], wanted, text[above[-1].end():mark.start()]))
    return found


def _normal(text: str) -> str:
    """Spaces before % and × dropped and runs of whitespace made one (as prose and output write them)."""
    return re.sub(r"\s+", " ", re.sub(r"(\d)\s+([%×])", r"\1\2", text))


def _contains(text: str, figure: str) -> bool:
    """Whether ``figure`` occurs in ``text`` as a whole number (not inside a longer one)."""
    return re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d])", _normal(text)) is not None


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


def test_the_readme_states_figures_for_its_main_examples():
    commands = " | ".join(command for command, _, _ in expectations())
    for needle in ("solve --loss 1.947 --inference-tokens 2e12", "calc ", "fit ", "budget ", "breakeven ",
                   "overhead ", "reproduce ", "verify ", "--law kaplan-2020", "unique-tokens ", "--unique-tokens 1e12",
                   "fit-score ", "--target-score "):
        assert needle in commands, f"no figures are checked for an example with {needle!r}"


def test_figures_are_read_from_the_comments():
    assert figures("=> 24.18B params, 2.657T tokens, 70.96% and 4.823e+23; 1,210 or $1.43M, 13.4×") == [
        "24.18B", "2.657T", "70.96%", "4.823e+23", "1,210", "$1.43M", "13.4×"]
    assert _contains("costs 95.22 % of", "95.22%") and not _contains("1.9473", "1.947")


@pytest.mark.parametrize("command, wanted, prose",
                         expectations(),
                         ids=lambda v: v if isinstance(v, str) and v.startswith("symscale") else "")
def test_readme_figures_are_what_the_example_prints(command, wanted, prose, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios.csv").write_text("loss,inference_tokens\n1.947,2e12\n2.1,1e11\n")
    args = shlex.split(command)[1:]
    if "plot" in args:
        pytest.importorskip("matplotlib")
    if "fit.json" in args and "fit-score" not in args:  # the README's own fit-score example writes it
        writer = next(c for c in examples() if "fit-score" in c and "fit.json" in c)
        assert run_cli(*shlex.split(writer)[1:])[0] == 0, writer
    code, out, err = run_cli(*args)
    assert code == 0, f"{command}\n{err}"
    missing = [f for f in wanted if not _contains(out + err, f)]
    assert not missing, f"README figures {missing} are not in the output of `{command}`:\n{out}{err}"
    if prose:
        unsaid = [f for f in wanted if not _contains(prose, f)]
        assert not unsaid, f"<!-- expect --> figures {unsaid} are not in the README prose after `{command}`"
