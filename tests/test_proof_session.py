"""The interactive proof checker, driven by scripted transcripts (piped input)."""

import re

import pytest
from click.testing import CliRunner

from symscale.cli import main


def session(script: str, *args: str):
    result = CliRunner().invoke(main, ["check-proof", "--interactive", *args], input=script)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert max(len(line) for line in result.stdout.splitlines()) <= 120
    return result.exit_code, result.stdout


def unwrapped(text: str) -> str:
    """The session's text with its wrapped lines joined (runs of whitespace as one space)."""
    return re.sub(r"\s+", " ", text)


def test_navigation_and_end_of_input():
    code, out = session("next\n\nback\ngoto 11\n")
    assert code == 0
    assert "(1/13) [eq7]" in out and "(2/13) [eq8]" in out and "(3/13) [eq9]" in out
    assert out.count("(2/13) [eq8]") == 2          # next, Enter (eq9), back again to eq8
    assert "(5/13) [eq11]" in out
    assert "Session ended at step eq11. 13 steps: 10 hold, 2 imprecise, 1 fails" in out
    assert "Aborted" not in out


def test_unknown_command_gives_a_hint_and_goes_on():
    code, out = session("frobnicate\nsubs loss=2\nlist\nquit\nnext\n")
    assert code == 0
    assert "unknown command 'frobnicate'; type 'help'" in out and "unknown command 'subs'" in out
    assert re.search(r">\s+1\s+eq7\s+holds", out) and re.search(r"\s9\s+claim-c\s+fails", out)
    assert "(2/13)" not in out                      # 'next' after quit is never read


def test_show_puts_numbers_beside_the_symbols():
    code, out = session("show\n", "--step", "12")
    assert code == 0
    assert "D_inf⋅B⋅β" in out                       # pretty-printed symbols
    assert "756.617/D**0.283" in out and "- 0.257 = 0" in out   # the same with the inputs' numbers
    assert "at the optimum N* = 2.41836e10, D* = 2.65705e12" in out


def test_set_re_evaluates_and_check_reruns_the_test():
    code, out = session("set loss=2.1 inference-tokens=1e13\ncheck\nset E=1.8\ncheck\n", "--step", "12")
    assert code == 0
    assert "inputs: loss 2.1, 1e13 inference tokens, coefficients chinchilla" in out
    checks = re.findall(r"check: (\w+)\n\s+(.*)", out)
    assert [c[0] for c in checks] == ["ok", "ok"]
    assert "E = 1.8" in out and "- 0.3 = 0" in out    # E - loss with E = 1.8, loss = 2.1
    assert "Steps re-checked in this session: eq12" in out


def test_why_gives_the_counterexample_with_numbers():
    code, out = session("why\nset loss=2.2\nwhy\nset loss=1.5\nwhy\n", "--step", "claim-c")
    out = unwrapped(out)
    assert code == 0
    assert "Counterexample to 'c > 0': at loss 1.947 (E = 1.69)" in out and "c = E - loss = -0.257 < 0" in out
    assert "c = E - loss = -0.51 < 0" in out
    assert "note: loss 1.5 is not above E = 1.69" in out and "c = 0.19 >= 0" in out


def test_why_for_claim_a_counts_roots_of_a_negative_a():
    import numpy as np

    code, out = session("goto claim-a\nwhy\n")
    out = unwrapped(out)
    k, c = (float(v) for v in re.search(r"to c = (-[\d.]+) as x -> inf.*\(k = ([\d.]+)\)", out).groups()[::-1])
    cases = re.findall(r"with a = (-[\d.e]+) it rises to (-?[\d.e]+) at x = ([\d.e]+) and has (\d) positive", out)
    assert [int(case[3]) for case in cases] == [0, 2]           # the paper's family would need exactly one
    x = np.geomspace(1e3, 1e20, 20001)
    for a, _, _, roots in cases:
        g = c + k * x**-0.283 + float(a) * x**-1.283          # Eq. 12 typed independently of symscale
        assert int(np.sum(np.diff(np.sign(g)) != 0)) == int(roots)


def test_bad_set_keeps_the_session():
    code, out = session("set loss\nset zeta=1\nset loss=-1\nset alpha=0\nset coefficients=nope\nset loss=2\n")
    assert code == 0
    assert "error: 'loss': write NAME=VALUE" in out and "unknown name 'zeta'" in out
    assert "error: 'loss=-1': the loss must be > 0" in out and "coefficient alpha must be > 0" in out
    assert "unknown coefficient preset 'nope'" in out and "inputs: loss 2," in out


def test_latex_and_help():
    code, out = session("help\nlatex\n", "--step", "10")
    assert "set NAME=VALUE" in out and "why" in out
    assert r"\lambda" in out and r"D_{\mathrm{inf}}" in out and "lam " not in out


@pytest.mark.parametrize("args", [("--json",), ("--latex",)])
def test_interactive_refuses_other_output_modes(args):
    result = CliRunner().invoke(main, ["check-proof", "--interactive", *args], input="")
    assert result.exit_code == 2 and "--interactive prints its own output" in result.stderr
