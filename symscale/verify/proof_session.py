"""The interactive proof checker behind ``check-proof --interactive``: a small command interpreter.

It reads one command per line (typed at a terminal or piped in), keeps a current step and the
current inputs, and writes its answers through ``echo``. End of input ends the session with a summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from symscale.base.errors import InputError
from symscale.laws.coefficients import NAMES
from symscale.verify.proof import STEP_IDS, Inputs, ProofReport, check_proof, normalise_step_id, num

HELP = """Commands (unique prefixes work; Enter alone = next):
  next | back | goto STEP      move (STEP: 7-12, eq11, numeric-form, claim-c, root, minimum, theorem, ...)
  list                         every step with its verdict (> marks the current one)
  show                         the step's expressions, pretty-printed, and the same with numbers put in
  latex                        the step's LaTeX
  set NAME=VALUE ...           change an input: alpha beta A B E loss inference-tokens (also demand, D_inf)
                               or coefficients=PRESET; the step is re-evaluated at the new values
  check                        re-run the step's test at the current values
  why                          the reason for the verdict, with numbers (the counterexample for a failing step)
  help | quit"""

ALIASES = {"inference-tokens": "inference_tokens", "inference_tokens": "inference_tokens", "demand": "inference_tokens",
           "d_inf": "inference_tokens", "tokens": "inference_tokens", "loss": "loss", "coefficients": "coefficients"}
COMMANDS = ("next", "back", "goto", "list", "show", "latex", "set", "check", "why", "help", "quit", "exit")


class Session:
    """State of one interactive walk: the inputs, the report at those inputs and the current step."""

    def __init__(self, inputs: Inputs, echo: Callable[[str], None], start: str | None = None):
        self.inputs, self.echo = inputs, echo
        self.report: ProofReport = check_proof(inputs)
        self.index = STEP_IDS.index(normalise_step_id(start)) if start else 0
        self.checked: set[str] = set()

    @property
    def step(self):
        return self.report[self.index]

    def banner(self) -> None:
        self.echo(f"Appendix A, {len(self.report)} steps. Inputs: {self.inputs.describe()}")
        self.echo("Type 'help' for the commands; Enter goes to the next step.")
        self.announce()

    def announce(self) -> None:
        self.echo(f"\n({self.index + 1}/{len(self.report)}) {self.step}")

    # --- commands -------------------------------------------------------------------------
    def do_next(self, args: list[str]) -> None:
        if self.index == len(self.report) - 1:
            self.echo("already at the last step (back, goto STEP, or quit)")
            return
        self.index += 1
        self.announce()

    def do_back(self, args: list[str]) -> None:
        if self.index == 0:
            self.echo("already at the first step")
            return
        self.index -= 1
        self.announce()

    def do_goto(self, args: list[str]) -> None:
        if len(args) != 1:
            self.echo(f"goto needs one step: {', '.join(STEP_IDS)} (or 7-12)")
            return
        self.index = STEP_IDS.index(normalise_step_id(args[0]))
        self.announce()

    def do_list(self, args: list[str]) -> None:
        width = max(len(s.id) for s in self.report)
        for n, s in enumerate(self.report):
            mark = ">" if n == self.index else " "
            self.echo(f"{mark} {n + 1:2d}  {s.id.ljust(width)}  {s.verdict:<9}  {s.title}")

    def do_show(self, args: list[str]) -> None:
        self.echo(self.step.show())

    def do_latex(self, args: list[str]) -> None:
        self.echo(self.step.latex())

    def do_set(self, args: list[str]) -> None:
        if not args:
            self.echo("set needs NAME=VALUE, e.g. set loss=2.1 or set E=1.8 beta=0.3 or set inference-tokens=1e13")
            return
        inputs = self.inputs
        for item in args:
            inputs = _apply(inputs, item)
        self.inputs = inputs
        self.report = check_proof(inputs)
        self.echo(f"inputs: {inputs.describe()}")
        if not inputs.reachable:
            floor = num(inputs.coefficients.E)
            self.echo(f"note: loss {num(inputs.loss)} is not above E = {floor}: no model reaches it")
        self.echo(self.step.show())

    def do_check(self, args: list[str]) -> None:
        check = self.step.check
        self.checked.add(self.step.id)
        self.echo(f"[{self.step.id}] at {self.inputs.describe()}")
        self.echo(f"check: {check.label}" if check else "check: none for this step")
        for line in check.lines if check else ():
            self.echo(f"  {line}")

    def do_why(self, args: list[str]) -> None:
        self.echo(self.step.why())

    def do_help(self, args: list[str]) -> None:
        self.echo(HELP)

    # --- the loop ---------------------------------------------------------------------------
    def run_line(self, line: str) -> bool:
        """Run one command line; False when the session should end."""
        words = line.split()
        if not words:
            self.do_next([])
            return True
        name = _command(words[0].lower())
        if name is None:
            self.echo(f"unknown command {words[0]!r}; type 'help' for the commands")
            return True
        if name in ("quit", "exit"):
            return False
        try:
            getattr(self, f"do_{name}")(words[1:])
        except InputError as exc:
            self.echo(f"error: {exc}")
        return True

    def summary(self) -> str:
        """The closing lines: counts at the final inputs and what was checked."""
        checked = ", ".join(s for s in STEP_IDS if s in self.checked) or "none"
        return (f"\nSession ended at step {self.step.id}. {self.report.summary()}.\n"
                f"Inputs: {self.inputs.describe()}\nSteps re-checked in this session: {checked}")


def _command(word: str) -> str | None:
    """A command name from a word or a unique prefix (n, b, q, ? as the usual shorthands)."""
    if word in ("?", "h"):
        return "help"
    if word == "q":
        return "quit"
    matches = [c for c in COMMANDS if c.startswith(word)]
    return matches[0] if len(matches) == 1 or word in matches else None


def _apply(inputs: Inputs, item: str) -> Inputs:
    """inputs with one NAME=VALUE changed (InputError naming the item if it is not valid)."""
    from symscale.base.numbers import parse_number
    from symscale.laws.coefficients import resolve

    name, sep, text = item.partition("=")
    if not sep or not text:
        raise InputError(f"{item!r}: write NAME=VALUE, e.g. loss=2.1")
    key = name.strip()
    field_name = ALIASES.get(key.lower()) or next((n for n in NAMES if n.lower() == key.lower()), None)
    if field_name is None:
        raise InputError(f"{item!r}: unknown name {key!r}; use {', '.join(NAMES)}, loss, inference-tokens or "
                         "coefficients")
    if field_name == "coefficients":
        return replace(inputs, coefficients=resolve(text.strip()))
    try:
        value = parse_number(text)
    except ValueError as exc:
        raise InputError(f"{item!r}: {exc}") from None
    if field_name == "loss":
        if value <= 0:
            raise InputError(f"{item!r}: the loss must be > 0")
        return replace(inputs, loss=value)
    if field_name == "inference_tokens":
        if value < 0:
            raise InputError(f"{item!r}: inference tokens must be >= 0")
        return replace(inputs, inference_tokens=value)
    return replace(inputs, coefficients=inputs.coefficients.with_values(**{field_name: value}))


def run(inputs: Inputs, lines: Iterable[str], echo: Callable[[str], None], start: str | None = None) -> Session:
    """Run a session over ``lines`` (ends at 'quit' or the end of input) and print the summary."""
    session = Session(inputs, echo, start)
    session.banner()
    for line in lines:
        if not session.run_line(line.rstrip("\n")):
            break
    echo(session.summary())
    return session
