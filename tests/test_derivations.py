"""Every script in derivations/ runs and its assertions hold (run in-process so the sympy model is derived once)."""

import runpy
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "derivations").glob("*.py"))


def test_there_are_derivations():
    assert {p.stem for p in SCRIPTS} >= {"appendix_a", "chinchilla_limit", "special_beta", "closed_form_bracket",
                                         "demand_asymptotics"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_derivation_runs(script, capsys):
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "verified" in out or "steps hold" in out
