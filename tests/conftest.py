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


def _register_hypothesis_profiles() -> None:
    """Hypothesis profiles: ``ci`` (default: few, reproducible examples) and ``long`` (HYPOTHESIS_PROFILE=long)."""
    import os

    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis is in the `test` extra; without it the property tests are skipped
        return
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **common)
    settings.register_profile("long", max_examples=1000, print_blob=True, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_register_hypothesis_profiles()
