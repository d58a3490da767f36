"""The solve path never imports sympy (or other heavy libraries): the kernels are pre-generated."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from click.testing import CliRunner
from symscale.cli import main
result = CliRunner().invoke(main, ["solve", *sys.argv[1:], "--json"])
assert result.exit_code == 0, result.output
heavy = sorted(m for m in ("sympy", "mpmath", "lmfit", "pandas", "matplotlib", "scipy") if m in sys.modules)
print(",".join(heavy))
"""


@pytest.mark.parametrize("args", [
    ["--loss", "1.947", "--inference-tokens", "2e12"],
    ["--law", "kaplan-2020", "--loss", "2.5", "--inference-tokens", "2e12"],   # committed kernels, no lambdify
])
def test_solve_does_not_import_sympy_or_other_heavy_modules(args):
    out = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
