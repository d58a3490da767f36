"""Discover the commands: every module ``symscale/cli/cmd_*.py`` exports its click commands in ``COMMANDS``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import click


def _discover() -> list[click.Command]:
    found: list[click.Command] = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            found.extend(getattr(module, "COMMANDS", []))
    return found


ALL = _discover()
