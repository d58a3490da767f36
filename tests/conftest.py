"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli():
    """Run the symscale CLI in-process; returns (exit_code, stdout, stderr)."""
    from symscale.cli import main

    def run(*args: str):
        result = CliRunner().invoke(main, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run
