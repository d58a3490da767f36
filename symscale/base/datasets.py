"""Bundled datasets of training runs (``data/datasets.csv``): names a command accepts in place of a runs file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from symscale.base.datafiles import parsed, read_rows, read_text
from symscale.base.errors import InputError

REGISTRY = "datasets.csv"


@dataclass(frozen=True)
class Dataset:
    """One bundled table of runs, with where it comes from and under which licence."""

    name: str
    file: str
    rows: int
    description: str
    source: str
    license: str

    def text(self) -> str:
        """The CSV text of the dataset."""
        return read_text(self.file)

    def columns(self) -> list[str]:
        """The CSV header."""
        return next(csv.reader(io.StringIO(self.text())), [])

    def as_dict(self) -> dict:
        return {"name": self.name, "file": f"data/{self.file}", "rows": self.rows, "columns": self.columns(),
                "description": self.description, "source": self.source, "license": self.license}


@lru_cache(maxsize=1)
def datasets() -> dict[str, Dataset]:
    """Every bundled dataset, keyed by lower-case name."""
    fields = ("name", "file", "rows", "description", "source", "license")
    rows = read_rows(REGISTRY, fields)

    def build(row: dict) -> Dataset:
        return Dataset(**{**{key: row[key] for key in fields}, "rows": int(row["rows"])})

    return {d.name.lower(): d for d in parsed(REGISTRY, rows, build)}


def find(spec: str | Path) -> Dataset | None:
    """The bundled dataset named ``spec`` (any case), unless ``spec`` is an existing file (a file wins)."""
    from symscale.base.files import names_a_file

    text = str(spec)
    if names_a_file(text):
        return None
    return datasets().get(text.strip().lower())


def names() -> str:
    """'sardana-2024, ...' for messages."""
    return ", ".join(d.name for d in datasets().values())


def runs_source(spec: str | Path) -> tuple[object, str]:
    """What ``pandas.read_csv`` reads for a runs argument (a path, or a bundled dataset's text) and its label."""
    dataset = find(spec)
    if dataset is not None:
        return io.StringIO(dataset.text()), f"{dataset.name} (bundled)"
    from symscale.base.files import names_a_file

    if not names_a_file(str(spec)):
        shown = str(spec) if len(str(spec)) <= 80 else str(spec)[:77] + "..."
        raise InputError(f"runs file {shown!r} not found (bundled datasets: {names()})")
    return Path(str(spec)), str(spec)
