"""Shared pieces of the command line: number parsing, coefficient options, JSON and table output."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..coefficients import DOMAIN, NAMES, Coefficients, check_domain, domain_text, load_coefficients, preset

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)\s*$")


class CliError(click.ClickException):
    """An error shown as one line with exit status 2."""

    exit_code = 2


def parse_number(text: str) -> float:
    """Parse '7e9', '7000000000', '70B', '2T', '1.5M' (k, M, B/G, T, P suffixes) as a finite float."""
    match = _NUMBER.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a number (examples: 7e9, 70B, 2T, 1.5M)")
    value = float(match.group(1)) * _SUFFIX.get(match.group(2).lower(), 1.0)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


class Number(click.ParamType):
    """A finite number with optional k/M/B/T/P suffix and optional bounds."""

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
            "such as the one `symscale fit --out` writes.",
        ),
        *[coefficient_option(key) for key in NAMES],
    ]
    for option in reversed(options):
        func = option(func)
    return func


def coefficients_from_options(kwargs: dict) -> Coefficients:
    """Pop the coefficient options out of a command's kwargs and build the Coefficients."""
    spec = kwargs.pop("coefficients_spec")
    overrides = {key: kwargs.pop(key) for key in NAMES}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if spec.lower().endswith(".json") or Path(spec).is_file():
        base = load_coefficients(spec)
    else:
        base = preset(spec)
    coefficients = base.with_values(**overrides) if overrides else base
    check_domain(coefficients)
    return coefficients


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
