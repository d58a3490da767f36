"""A fuzz of the command line: every option of every command, walked from the click objects, with hostile values.

Each case runs ``python -m symscale ...`` in its own subprocess (2 GiB address-space cap, 20 s limit,
a fresh working directory) and is judged by ``problems``: exit 0 or 2, one stderr line on exit 2,
no traceback, internal error or Python warning, no nan/inf answer, no partial stdout or files.

Profiles: ``short`` (a seeded, cost-budgeted subset that covers every command; the CI default) and
``long`` (every value for every option, plus seeded random combinations). Run by hand with
``python tests/fuzzing.py --profile long --report fuzz.json``.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
RUNS_CSV = REPO / "data" / "sardana-2024-runs.csv"   # the paper's 47 runs, bundled with the package
MEMORY_CAP = 2 * 1024 ** 3
TIMEOUT = 20.0
SEED = 18
LONG_STRING = "x" * 10_000
SENTINEL = "previous content, must survive a failed run\n"
HEAVY = {"closed-form", "verify", "check-proof", "derive", "plot fig2", "plot fig6", "plot scenario", "plot data-wall",
         "plot rollout"}

# Baselines: one valid, quick invocation per command (name -> value; True for a flag), the hostile value
# replaces one of them or is added. A command without a baseline fails ``test_every_command_has_a_baseline``.
BASELINES: dict[str, list[dict]] = {
    "solve": [{"loss": "2.0", "inference_tokens": "2e12"},
              {"loss": "2.0", "objective": "cost", "requests": "1e10"},
              {"law_spec": "E + A/N**alpha + B/D**beta", "loss": "2.0", "inference_tokens": "1e12",
               "set_values": ["E=1.69", "A=406.4", "B=410.7", "alpha=0.336", "beta=0.283"]},
              {"quality_of": "Llama-2-7B", "inference_tokens": "1e12"}],
    "calc": [{"params": "7e9", "tokens": "1e12"}, {"params": "7e9", "tokens": "1e12", "objective": "cost"},
             {"chinchilla": True, "loss": "2.0"}],
    "sweep": [{"loss": "1.9:2.1:3", "inference_tokens": "1e9:1e12:3", "output": "out.csv"},
              {"loss": "1.9:2.1:3", "requests": "1e8:1e10:3", "objective": "cost", "output": "out.csv"},
              {"loss": "2.05,2.1", "inference_tokens": "1e12", "unique_tokens": "1e12", "max_epochs": "1",
               "output": "out.csv"}],
    "budget": [{"flops": "1e24", "inference_tokens": "2e12"},
               {"dollars": "5e6", "requests": "1e10", "objective": "cost"}],
    "breakeven": [{"chinchilla_params": "70B", "saving": "0.1"},
                  {"loss": "1.9:2.2:3", "size_ratio": "0.5"}],
    "overhead": [{"chinchilla_params": "70B", "ratios": ["0.5"]},
                 {"loss": "2.0", "params": "7B", "inference_tokens": "2e12"}],
    "closed-form": [{"beta_text": "1/2"}],
    "verify": [{"random_count": "2"}, {"loss_range": "1.9:2.1:2", "demand_range": "1e9:1e12:2"}],
    "fit": [{"runs_opt": str(RUNS_CSV), "no_lmfit": True, "quiet": True, "out": "c.json"},
            {"runs_opt": "sardana-2024", "law_spec": "kaplan-2020", "no_lmfit": True, "quiet": True}],
    "fit-score": [{"runs_opt": "sardana-2024", "score_cols": ["eval_gauntlet/core_average"]}],
    "reproduce": [{"what": "claims"}],
    "check-proof": [{"step_key": "7"}],
    "derive": [{}, {"law_spec": "kaplan-2020"}],
    "datasets": [{}],
    "hardware": [{}],
    "laws": [{}],
    "plot fig2": [{"output": "f.png", "loss_grid": "1.9:2.6:4", "demand": "1e9:1e12:4"}],
    "plot fig6": [{"output": "f.png", "loss_grid": "1.9:2.6:4", "demand": "1e5:1e9:4"}],
    "plot scenario": [{"output": "f.svg", "loss": "2.0", "inference_tokens": "1e12"}],
    "plot data-wall": [{"output": "w.png", "law_spec": "muennighoff-2023", "loss": "2.3", "inference_tokens": "1e12",
                        "unique_tokens_grid": "1e10,1e12"}],
    "unique-tokens": [{"law_spec": "muennighoff-2023", "loss": "2.2"}],
    "plot rollout": [{"output": "r.png", "runs_csv": "sardana-2024", "no_lmfit": True}],
}

NUMBERS = ["", " ", "-1", "+1", "0", "-0", "1e-320", "5e-324", "1e308", "1.7976931348623157e308", "1e400",
           "-1e400", "inf", "-inf", "nan", "NaN", "1e", "e5", "1..2", "1,000", "0x10", "\u0661\u0662",
           "\uff11\uff12", "\u00b2", "1_000", LONG_STRING, "9" * 10_000, "1e308T", "1e-320k", "1/3", "None",
           "1e-5", "1e5", "1e30", "2", "0.9999999999999999", "1e-300", "1e300", "3e-308"]
INTEGERS = ["", "-1", "0", "1", "2", "10", str(10 ** 9), "9" * 10_000, "1e3", "1.5", "\u0661\u0662", "+3", " 3",
            "-0", LONG_STRING, str(2 ** 63), str(10 ** 6 + 1), str(-2 ** 63)]
GRIDS = ["", "2:1:5", "1.9:2.6:0", "1.9:2.6:1", "2:2:1", "1.9:2.6:-1", "1.9:2.6:2.5", "1.9:2.6:1000000000",
         "1.9:2.6:" + "9" * 10_000, "1e-320:1e308:5", "1e308:1e400:3", "nan:inf:3", "1,2,,3", ",", "a,b",
         "1.9:2.6", ":::", "1:2:3:4", "\u0661:\u0662:\u0663", "1e9:2T:50", "0:1:5", "-1:1:3",
         ",".join(["2.0"] * 5000), "1.9:2.6:100000", "1e9:1e14:6", "1e200", "1000", "1e-320", "2.0"]
RATIOS = ["1/2", "1/3", "1", "2", "0", "0/1", "1/0", "-1/2", "1/1001", "999/1000", "1e-320", "1e308", "nan", "",
          "1/", "/2", LONG_STRING, "7/3", "5/1", "3/2", "1/1000", "0.5", "1e400", "\u0661/\u0662"]
TEXTS = ["", " ", LONG_STRING, "\u00e9\u00e8", "\u202e", "-", "--json", "nan", "1e308", "../../etc/passwd",
         "H100", "h100", "bf16", "fp8", "int8", "A100-40GB", "B200", "7", "theorem", "Parameters", "Tokens"]
PAIRS = [("2.2", "1.9"), ("2", "2"), ("nan", "2"), ("1e-320", "1e308"), ("1.9", "1e400"), ("", "2"),
         ("1.9", "2.2"), ("1.0", "1e300"), ("1.6900001", "1.69000011")]
MULTIPLES = [["1e-320"], ["1"], ["2"], ["1e308"], ["0.5"] * 2000, ["nan"], ["0"], ["0.5", "1e-300"]]


@dataclass(frozen=True)
class Case:
    """One invocation: a command, its arguments, and how its stdout is connected."""

    command: str
    args: tuple[str, ...]
    note: str
    outputs: tuple[str, ...] = ()
    stdout_full: bool = False

    def argv(self) -> list[str]:
        """The arguments after ``python -m symscale``."""
        return self.command.split() + list(self.args) if self.command else list(self.args)

    def shell(self) -> str:
        """A command line to reproduce the case by hand (long values shortened)."""
        def short(text: str) -> str:
            if len(text) > 60:
                text = f"$(printf '{text[0]}%.0s' {{1..{len(text)}}})" if len(set(text)) == 1 else text[:40] + "..."
            return text if re.fullmatch(r"[\w./:,+=@%-]+", text) else "'" + text.replace("'", "'\\''") + "'"
        tail = " >/dev/full" if self.stdout_full else ""
        return "symscale " + " ".join(short(a) for a in self.argv()) + tail


@dataclass
class Result:
    """What a case did."""

    case: Case
    code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    files_before: dict[str, str] = field(default_factory=dict)
    files_after: dict[str, str | None] = field(default_factory=dict)


def walk(group: click.Command, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every leaf command under a click group, with its full name ('plot fig2')."""
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            yield from walk(sub, f"{prefix} {name}".strip())
    else:
        yield prefix, group


def kind_of(param: click.Parameter) -> str:
    """The family of hostile values that fits this parameter, from its click type, name and metavar."""
    from symscale.cli.common import Number

    kind = param.type
    metavar = (param.metavar or "").upper()
    if getattr(param, "multiple", False):
        return "multiple"
    if param.nargs == 2:
        return "pair"
    if getattr(param, "is_flag", False):
        return "flag"
    if isinstance(kind, click.Choice):
        return "choice"
    if isinstance(kind, (Number, click.types.FloatParamType)):
        return "number"
    if isinstance(kind, click.types.IntParamType):
        return "int"
    if param.name in ("out", "output"):
        return "output"
    if param.name == "coefficients_spec":
        return "json"
    if isinstance(kind, click.Path):
        return "csv"
    if metavar in ("GRID", "A:B:N"):
        return "grid"
    if metavar == "P/Q":
        return "ratio"
    return "text"


def make_inputs(root: Path) -> dict[str, list[str]]:
    """Write the malformed input files into ``root``; return hostile path values per kind."""
    root.mkdir(parents=True, exist_ok=True)
    good = {"alpha": 0.336, "beta": 0.283, "A": 406.4, "B": 410.7, "E": 1.69}

    def boot(**samples) -> dict:
        base = {k: [v] * 4 for k, v in good.items()}
        base.update(samples)
        return {**good, "bootstrap": base}

    jsons = {
        "empty.json": "", "truncated.json": '{"alpha": 0.3', "nested.json": "[" * 100_000,
        "deep_object.json": '{"a":' * 50_000 + "1" + "}" * 50_000,
        "strings.json": json.dumps({k: str(v) for k, v in good.items()}), "list.json": "[1, 2, 3]",
        "nan.json": '{"alpha": NaN, "beta": 0.283, "A": 406.4, "B": 410.7, "E": 1.69}',
        "bigint.json": json.dumps({**good, "A": 10 ** 400}), "negative.json": json.dumps({**good, "beta": -0.3}),
        "zero.json": json.dumps({**good, "alpha": 0}), "huge.json": json.dumps({**good, "B": 1e308}),
        "tiny.json": json.dumps({**good, "alpha": 1e-320}), "valid.json": json.dumps(good),
        "boot_high_E.json": json.dumps(boot(E=[1.69, 2.33, 1.7, 1.8])),
        "boot_neg_beta.json": json.dumps(boot(beta=[0.283, -0.1, 0.3, 0.25])),
        "boot_empty.json": json.dumps(boot(**{k: [] for k in good})),
        "boot_ragged.json": json.dumps(boot(alpha=[0.3, 0.3])),
        "boot_strings.json": json.dumps(boot(alpha=["a", "b", "c", "d"])),
        "boot_huge.json": json.dumps(boot(A=[1e308] * 4)),
        "boot_all_unreachable.json": json.dumps(boot(E=[3.0] * 4)),
    }
    for name, text in jsons.items():
        (root / name).write_text(text)
    (root / "binary.json").write_bytes(bytes(range(256)) * 4)
    header = "Parameters,Tokens,Smoothed Loss,loss,inference_tokens\n"
    rows = [f"{n:g},{n * r:g},{1.69 + 406.4 / n ** 0.336 + 410.7 / (n * r) ** 0.283:.6f},2.0,1e12\n"
            for n in (1.5e8, 4e8, 1.3e9) for r in (10, 40, 160)]
    csvs = {
        "empty.csv": "", "header_only.csv": header, "strings.csv": header + "a,b,c,d,e\n" * 9,
        "nan.csv": header + "nan,inf,nan,nan,nan\n" * 9, "negative.csv": header + "-1,-1,-1,-1,-1\n" * 9,
        "one_row.csv": header + rows[0], "identical.csv": header + rows[0] * 9,
        "huge.csv": header + "1e308,1e308,1e308,1e308,1e308\n" * 9, "ragged.csv": header + "1,2\n3\n",
        "semicolon.csv": header.replace(",", ";") + "".join(r.replace(",", ";") for r in rows),
        "good.csv": header + "".join(rows), "one_size.csv": header + "".join(r for r in rows if r.startswith("1.5e")),
        "bom.csv": "\ufeff" + header + "".join(rows), "missing_cols.csv": "x,y\n1,2\n",
    }
    for name, text in csvs.items():
        (root / name).write_text(text)
    (root / "binary.csv").write_bytes(bytes(range(256)) * 4)
    unreadable = root / "unreadable.json"
    unreadable.write_text(json.dumps(good))
    unreadable.chmod(0)
    (root / "zero_link.json").symlink_to("/dev/zero")
    (root / "a_dir.json").mkdir()
    specials = ["/dev/null", "/dev/zero", "/nonexistent/x.json", str(root), str(root / "a_dir.json"),
                LONG_STRING, "/tmp/" + "y" * 300 + ".json", str(unreadable), str(root / "zero_link.json"), "-", ""]
    return {"json": [str(root / n) for n in [*jsons, "binary.json"]] + specials + ["chinchilla", "CHINCHILLA",
                                                                                      "nope"],
            "csv": [str(root / n) for n in [*csvs, "binary.csv"]] + specials}


def output_values(suffix: str) -> list[str]:
    """Hostile output paths, relative ones inside the case's working directory."""
    return ["/dev/full", "/dev/null", ".", "/nonexistent_dir/x" + suffix, "/proc/x" + suffix, "infile/x" + suffix,
            LONG_STRING + suffix, "", "out.txt", "sub/../y" + suffix, "z" * 300 + suffix, "-"]


def values_for(kind: str, param: click.Parameter, files: dict[str, list[str]], suffix: str) -> list:
    """The hostile values tried for one parameter."""
    if kind == "choice":
        choices = list(param.type.choices)
        return ["", LONG_STRING, "c\u00f6mpute", *choices, *(c.upper() for c in choices)]
    table = {"number": NUMBERS, "int": INTEGERS, "grid": GRIDS + NUMBERS[:16], "ratio": RATIOS, "text": TEXTS,
             "json": files["json"], "csv": files["csv"], "output": output_values(suffix), "pair": PAIRS,
             "multiple": MULTIPLES, "flag": [True]}
    return table[kind]


def build_args(command: click.Command, values: dict) -> tuple[str, ...]:
    """The argv for a command from parameter name -> value (True: a flag; tuple: nargs; list: repeated)."""
    argv: list[str] = []
    for param in command.params:
        if param.name not in values:
            continue
        value = values[param.name]
        if isinstance(param, click.Argument):
            argv.append(value)
        elif value is True:
            argv.append(param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0])
        elif isinstance(value, tuple):
            argv += [_long(param), *value]
        elif isinstance(value, list):
            for item in value:
                argv += [_long(param), item]
        else:
            argv += [_long(param), value]
    return tuple(argv)


def _long(param: click.Parameter) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _outputs(command: click.Command, values: dict) -> tuple[str, ...]:
    names = [p.name for p in command.params if kind_of(p) == "output"]
    return tuple(v for n in names if isinstance(v := values.get(n), str) and v and not v.startswith("/"))


def all_cases(files: dict[str, list[str]]) -> list[Case]:
    """Every (command, parameter, hostile value) case, plus stdout on a full device and the bare groups."""
    from symscale.cli import main

    cases: list[Case] = [Case("", (), "bare symscale"), Case("plot", (), "bare plot"),
                         Case("reproduce", (), "reproduce without target")]
    for name, command in walk(main):
        for n, base in enumerate(BASELINES.get(name, [{}])):
            suffix = Path(next(iter(_outputs(command, base)), "x.json")).suffix
            cases.append(Case(name, build_args(command, base), f"baseline {n}", _outputs(command, base)))
            if not _outputs(command, base):
                cases.append(Case(name, build_args(command, base), f"baseline {n} stdout full", (), True))
            for param in command.params:
                kind = kind_of(param)
                for value in values_for(kind, param, files, suffix):
                    values = dict(base)
                    if kind == "flag" and param.name in values:
                        del values[param.name]
                    else:
                        values[param.name] = value
                    cases.append(Case(name, build_args(command, values), f"{param.name}={_label(value)} [{kind}]",
                                      _outputs(command, values)))
    return cases


def _label(value) -> str:
    text = repr(value)
    return text if len(text) < 50 else text[:40] + f"...({len(text)} chars)"


def combined_cases(files: dict[str, list[str]], count: int, seed: int = SEED) -> list[Case]:
    """Random cases that change two or three parameters of a baseline at once (seeded)."""
    from symscale.cli import main

    rng = random.Random(seed)
    commands = list(walk(main))
    cases = []
    for _ in range(count):
        name, command = rng.choice(commands)
        base = dict(rng.choice(BASELINES.get(name, [{}])))
        suffix = Path(next(iter(_outputs(command, base)), "x.json")).suffix
        picked = rng.sample(command.params, min(len(command.params), rng.choice((2, 3))))
        for param in picked:
            base[param.name] = rng.choice(values_for(kind_of(param), param, files, suffix))
        notes = ", ".join(f"{p.name}={_label(base[p.name])}" for p in picked)
        cases.append(Case(name, build_args(command, base), "combined " + notes, _outputs(command, base)))
    return cases


def cost(case: Case) -> float:
    """Rough seconds of CPU per case, to budget the short profile."""
    return 1.8 if case.command in HEAVY else 0.3


def select(profile: str, files: dict[str, list[str]], budget: float = 100.0, seed: int = SEED) -> list[Case]:
    """The cases of a profile: ``long`` is everything; ``short`` a seeded subset within a CPU budget."""
    cases = all_cases(files)
    if profile == "long":
        return cases + combined_cases(files, 2000, seed)
    rng = random.Random(seed)
    fixed = [c for c in cases if c.note.startswith(("bare", "reproduce without", "baseline"))
             and (c.command not in HEAVY or c.note == "baseline 0")]
    spent = sum(map(cost, fixed))
    by_param: dict[tuple[str, str], list[Case]] = {}
    for case in cases:
        if case not in fixed:
            by_param.setdefault((case.command, case.note.split("=")[0]), []).append(case)
    keys = sorted(by_param)
    rng.shuffle(keys)
    chosen = list(fixed)
    rounds = 0
    while spent < budget and rounds < 1000:
        for key in keys:
            if key[0] in HEAVY and rounds % 4:
                continue
            case = rng.choice(by_param[key])
            if case in chosen:
                continue
            chosen.append(case)
            spent += cost(case)
            if spent >= budget:
                break
        rounds += 1
    return chosen


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    os.setsid()


def run_case(case: Case, workdir: Path, python: str = sys.executable, timeout: float = TIMEOUT,
             prefix: list[str] | None = None) -> Result:
    """Run one case in a fresh directory under the memory cap and the time limit."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "infile").write_text("a file where a directory is expected\n")
    before = {"infile": (workdir / "infile").read_text()}
    for name in case.outputs:
        target = workdir / name
        if target.parent == workdir and len(name) < 255:
            target.write_text(SENTINEL)
            before[name] = SENTINEL
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default", "MPLBACKEND": "Agg"}
    env.pop("SYMSCALE_DEBUG", None)
    argv = (prefix or [python, "-m", "symscale"]) + case.argv()
    stdout = open("/dev/full", "wb") if case.stdout_full else subprocess.PIPE
    try:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.PIPE, preexec_fn=_limits)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
    finally:
        if case.stdout_full:
            stdout.close()
    after = {}
    for path in workdir.rglob("*"):
        rel = str(path.relative_to(workdir))
        try:
            after[rel] = path.read_text(errors="replace")[:200] if path.is_file() else "<dir>"
        except OSError:
            after[rel] = None
    return Result(case, proc.returncode, (out or b"").decode(errors="replace"),
                  err.decode(errors="replace"), timed_out, before, after)


_WARNING = re.compile(r"[A-Z]\w*Warning\b|\bwarnings?\.warn|\bwarn\(")
_NONFINITE = re.compile(r"(?i)(?<![\w.{\\])[-+]?(nan|inf|infinity)(?![\w(}])")  # not the symbol D_{inf}


def problems(result: Result) -> list[str]:
    """Every way the result breaks the promise (empty: the case is fine)."""
    case, err, out = result.case, result.stderr, result.stdout
    found = []
    if result.timed_out:
        return [f"timeout after {TIMEOUT:g} s"]
    if result.code is None or result.code < 0:
        return [f"killed by signal {-(result.code or 0)}"]
    if result.code not in (0, 2):
        found.append(f"exit {result.code}")
    if "Traceback" in err:
        found.append("traceback")
    if "Internal error" in err:
        found.append("internal error")
    if "MemoryError" in err:
        found.append("memory cap")
    if _WARNING.search(err):
        found.append("warning on stderr")
    lines = [line for line in err.splitlines() if line.strip()]
    if result.code == 2:
        if len(lines) != 1:
            found.append(f"{len(lines)} stderr lines on exit 2")
        if out.strip():
            found.append("partial stdout on exit 2")
    if result.code == 0 and not case.stdout_full:
        scrubbed = out
        for arg in sorted(case.args, key=len, reverse=True):
            if len(arg) >= 3:
                scrubbed = scrubbed.replace(arg, "")
        if _NONFINITE.search(scrubbed):
            found.append("nan/inf on stdout")
    if case.stdout_full and result.code == 0:
        found.append("exit 0 with stdout on a full device")
    expected = set(result.files_before) | ({os.path.normpath(o) for o in case.outputs} if result.code == 0 else set())
    expected |= {str(p) for name in expected for p in Path(name).parents if str(p) != "."}
    leftovers = sorted(set(result.files_after) - expected)
    if leftovers:
        found.append("files left behind: " + ", ".join(name[:60] for name in leftovers))
    if result.code != 0:
        changed = [n for n, text in result.files_before.items() if result.files_after.get(n) != text[:200]]
        if changed:
            found.append("previous file changed by a failed run: " + ", ".join(changed))
    return found


def run_all(cases: list[Case], root: Path, workers: int | None = None) -> list[tuple[Result, list[str]]]:
    """Run cases in parallel (a small pool of subprocess launchers); return each result with its problems."""
    workers = workers or max(2, min(4, os.cpu_count() or 2))

    def one(item: tuple[int, Case]) -> tuple[Result, list[str]]:
        n, case = item
        workdir = root / f"case{n:05d}"
        result = run_case(case, workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        return result, problems(result)

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, enumerate(cases)))
    # a shared, loaded machine can stall a process past the limit: a hang is one that repeats when run alone
    return [one((n, r.case)) if r.timed_out else (r, f) for n, (r, f) in enumerate(results)]


def cause(result: Result, found: list[str]) -> str:
    """A short grouping key for a failure: the command, the first problem and the error text's shape."""
    err = [line for line in result.stderr.splitlines() if line.strip()]
    last = next((line for line in reversed(err) if "Error" in line or "error" in line), err[-1] if err else "")
    last = re.sub(r"\d[\d.e+-]*", "#", re.sub(r"'[^']*'", "'…'", last))[:140]
    kinds = ",".join(sorted({f.split(":")[0] for f in found}))
    return f"{result.case.command or '(bare)'} | {kinds} | {last}"


def main() -> None:
    """Run a profile by hand and write a JSON report of the failures."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default=os.environ.get("SYMSCALE_FUZZ", "short"))
    parser.add_argument("--report", default="fuzz-report.json")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--budget", type=float, default=100.0, help="CPU seconds for the short profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = make_inputs(Path(tmp) / "inputs")
        cases = select(args.profile, files, args.budget)
        print(f"{len(cases)} cases", file=sys.stderr)
        results = run_all(cases, Path(tmp) / "runs", args.workers)
        for path in (Path(tmp) / "inputs").glob("unreadable*"):
            path.chmod(0o600)
    failures = [{"cause": cause(r, f), "problems": f, "command": r.case.shell(), "note": r.case.note,
                 "code": r.code, "stderr": r.stderr[-600:], "stdout": r.stdout[:300]} for r, f in results if f]
    Path(args.report).write_text(json.dumps({"cases": len(cases), "failures": failures}, indent=1))
    print(f"{len(failures)} of {len(cases)} cases fail", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
