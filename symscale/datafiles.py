"""Locate the CSV files under ``data/`` in a source checkout or an installed copy."""

from __future__ import annotations

import sys
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of ``data/<name>``: next to the package in a checkout, else under ``share/symscale``."""
    candidates = [
        Path(__file__).resolve().parent.parent / "data" / name,
        Path(sys.prefix) / "share" / "symscale" / "data" / name,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"symscale data file {name!r} not found (looked in {candidates})")
