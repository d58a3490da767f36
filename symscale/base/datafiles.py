"""The package's data files, read through ``importlib.resources``.

They live in the repository's top-level ``data/``; ``symscale/data`` links to it, so a checkout, an
editable install, a wheel and an sdist all read the same files as package data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from importlib import resources

from symscale.base.errors import InputError

PACKAGE = "symscale"
FOLDER = "data"


def _broken(name: str, why: str) -> InputError:
    return InputError(f"symscale data file {FOLDER}/{name} {why}; the installation is broken: reinstall symscale")


def read_text(name: str) -> str:
    """The text of ``data/<name>``, or an InputError naming the file when it is missing or unreadable."""
    try:
        return resources.files(PACKAGE).joinpath(FOLDER, name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _broken(name, "is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _broken(name, f"cannot be read ({type(exc).__name__}: {exc})") from None


def read_rows(name: str, columns: Iterable[str]) -> list[dict[str, str]]:
    """The rows of the CSV file ``data/<name>``, checked to have ``columns`` and at least one row."""
    try:
        reader = csv.DictReader(io.StringIO(read_text(name)))
        rows = list(reader)
    except csv.Error as exc:
        raise _broken(name, f"is not valid CSV ({exc})") from None
    missing = [col for col in columns if col not in (reader.fieldnames or [])]
    if missing:
        raise _broken(name, f"lacks column(s) {', '.join(missing)}")
    if not rows:
        raise _broken(name, "has no rows")
    if any(None in row or any(value is None for value in row.values()) for row in rows):
        raise _broken(name, "has rows with the wrong number of fields")
    return rows


def parsed(name: str, rows: list[dict[str, str]], build):
    """``build(row)`` for each row, turning a malformed value into an InputError naming the file and row."""
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(build(row))
        except (ValueError, KeyError, TypeError) as exc:  # InputError (bad coefficient) included
            raise _broken(name, f"has a malformed value on line {line} ({exc})") from None
    return out
