"""Shared pieces of the command line: number parsing, coefficient options, JSON and table output."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import click
import numpy as np

from symscale.base.numbers import parse_number  # noqa: F401  (the one number grammar, used by options)
from symscale.laws.coefficients import DOMAIN, NAMES, check_domain, domain_text, resolve


class CliError(click.ClickException):
    """An error shown as one line with exit status 2."""

    exit_code = 2


class Number(click.ParamType):
    """A finite number (symscale.base.numbers.parse_number: 7e9, 70B, 2T) with optional bounds."""

    name = "number"

    def __init__(self, minimum: float | None = None, *, strict_minimum: bool = False, maximum: float | None = None):
        self.minimum, self.strict_minimum, self.maximum = minimum, strict_minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                self.fail(f"{value!r} is not a finite number", param, ctx)
        else:
            try:
                number = parse_number(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if self.minimum is not None:
            if self.strict_minimum and number <= self.minimum:
                self.fail(f"must be > {self.minimum:g}, got {number:g}", param, ctx)
            if not self.strict_minimum and number < self.minimum:
                self.fail(f"must be >= {self.minimum:g}, got {number:g}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"must be <= {self.maximum:g}, got {number:g}", param, ctx)
        return number


NUMBER = Number()
POSITIVE = Number(0.0, strict_minimum=True)
NON_NEGATIVE = Number(0.0)


COEFFICIENT_HELP = {"alpha": "parameter exponent", "beta": "token exponent", "A": "parameter term scale",
                    "B": "token term scale", "E": "irreducible loss"}


def coefficient_option(key: str) -> Callable:
    """The --alpha/--beta/--A/--B/--E override, limited to the coefficient's domain (stated in --help)."""
    low, high = DOMAIN[key]
    return click.option(f"--{key}", key, type=Number(low, maximum=high), default=None,
                        help=f"Override {key} ({COEFFICIENT_HELP[key]}), in {domain_text(key)}.")


def coefficient_options(func: Callable) -> Callable:
    """Add --coefficients PRESET|FILE.json and --alpha --beta --A --B --E overrides."""
    options = [
        click.option(
            "--coefficients", "coefficients_spec", default="chinchilla", show_default=True,
            metavar="PRESET|FILE.json",
            help="Law coefficients: a preset from data/coefficients.csv (chinchilla, chinchilla-rounded, "
            "sardana-le100, sardana-le250, sardana-le500, sardana-all, epoch-2024) or a JSON file "
            "such as the one `symscale fit --output` writes.",
        ),
        *[coefficient_option(key) for key in NAMES],
        click.option("--law", "law_spec", default=None, metavar="NAME|FORMULA",
                     help="The scaling law: a registered law (`symscale laws`: chinchilla, kaplan-2020) or a "
                     "formula in N and D such as 'E + A/N**alpha + B/D**beta + C/(N*D)**g' [default: chinchilla]."),
        click.option("--set", "set_values", multiple=True, metavar="NAME=VALUE",
                     help="A coefficient of the law (repeatable), e.g. --set E=1.69 --set g=0.1."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_assignments(items: tuple[str, ...], option: str = "--set") -> dict[str, float]:
    """NAME=VALUE pairs (values in the number grammar), each name once."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise CliError(f"{option} {item!r}: write NAME=VALUE, e.g. {option} E=1.69")
        if name in values:
            raise CliError(f"{option}: {name} given twice")
        try:
            values[name] = parse_number(text)
        except ValueError as exc:
            raise CliError(f"{option} {item!r}: {exc}") from None
    return values


def coefficients_from_options(kwargs: dict):
    """Pop the coefficient and law options out of a command's kwargs and build the coefficients.

    Chinchilla's law gives a :class:`Coefficients`; any other law a :class:`LawCoefficients`, its values
    from a preset of that law, a JSON file and/or ``--set``.
    """
    spec = kwargs.pop("coefficients_spec")
    overrides = {key: kwargs.pop(key) for key in NAMES}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    law_spec, assigned = kwargs.pop("law_spec", None), parse_assignments(kwargs.pop("set_values", ()))
    if law_spec is None and not assigned:
        base = resolve(spec)  # a preset name or a JSON file
        if not base.law.is_chinchilla:  # a file of another law
            if overrides:
                raise CliError(f"--{next(iter(overrides))}: --coefficients {spec!r} holds the law {base.law.name}; "
                               "use --set NAME=VALUE")
            _check_law_support(base.law)
            return base
        return _in_domain(base.with_values(**overrides) if overrides else base)
    from symscale.laws.registry import resolve_law

    law = resolve_law(law_spec) if law_spec is not None else None
    if law is None or law.is_chinchilla:
        base = resolve(spec)  # a preset name or a JSON file
        if not hasattr(base, "alpha"):
            raise CliError(f"--coefficients {spec!r} holds coefficients of the law {base.law.name!r}; "
                           "give --law to match it")
        merged = {**overrides, **assigned}
        unknown = [key for key in merged if key not in NAMES]
        if unknown:
            raise CliError(f"--set {unknown[0]}: the chinchilla law has coefficients {', '.join(NAMES)}")
        return _in_domain(base.with_values(**merged) if merged else base)
    if overrides:
        raise CliError(f"--{next(iter(overrides))} is a coefficient of the chinchilla law; for the law {law.name} "
                       "use --set NAME=VALUE")
    _check_law_support(law)
    from symscale.laws.values import law_coefficients

    return law_coefficients(law, spec, assigned)


def _in_domain(coefficients):
    """Chinchilla coefficients checked against their domains (coefficients.DOMAIN)."""
    check_domain(coefficients)
    return coefficients


LAW_COMMANDS = ("solve", "calc", "sweep", "derive", "fit", "unique-tokens", "plot data-wall", "budget", "breakeven",
                "overhead", "verify", "plot")
"""Commands that take any law; the others are derived for the chinchilla law only (so far)."""


def _check_law_support(law) -> None:
    ctx, names = click.get_current_context(silent=True), []
    while ctx is not None and ctx.parent is not None:  # the command's names below the group, however invoked
        names.append(ctx.info_name)
        ctx = ctx.parent
    command = " ".join(reversed(names))
    if command and command.split()[0] not in LAW_COMMANDS and command not in LAW_COMMANDS:
        raise CliError(f"{command} is derived for the chinchilla law only, not for --law {law.name}; "
                       f"the commands that take any law: {', '.join(LAW_COMMANDS)}")


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def emit_json(data: dict) -> None:
    """Print one JSON object (no NaN: non-finite numbers become null)."""
    click.echo(json.dumps(jsonable(data), indent=2, allow_nan=False))


def fmt(value: float, digits: int = 4) -> str:
    """A number in the reference scripts' style, e.g. 2.418e+10."""
    return f"{float(value):.{digits - 1}e}"


def pct(value: float) -> str:
    """A ratio as a percentage with two decimals."""
    return f"{100 * float(value):.2f}%"


def render_table(rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> str:
    """Left-aligned first column, right-aligned other columns."""
    table = ([header] if header else []) + rows
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if header and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def is_terminal() -> bool:
    """Whether stderr is an interactive terminal (progress bars only then)."""
    return sys.stderr.isatty()


NOTES: list[str] = []
"""One-line notes (deprecated names) printed on stderr after a command succeeds."""


def deprecated_alias(old: str, new: str, dest: str, *, value: Any = None, also: dict | None = None,
                     **attrs) -> Callable:
    """A hidden old option name kept for one release: it sets ``dest`` (to ``value`` when given, else to what was
    typed) and the parameters in ``also``, and prints a one-line note after the command succeeds."""
    def note(ctx: click.Context, param: click.Parameter, given):
        if given is not None and given is not False and given != ():
            NOTES.append(f"Note: {old} is deprecated, use {new}; the old name will be removed")
            ctx.params[dest] = given if value is None else value
            ctx.params.update(also or {})
        return given

    name = "_old_" + old.lstrip("-").replace("-", "_")
    return click.option(old, name, hidden=True, expose_value=False, callback=note, default=None, **attrs)
