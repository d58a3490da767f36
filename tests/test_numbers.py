"""The one formatter of readable numbers."""

import pytest

from symscale.base import numbers as F


@pytest.mark.parametrize("value, text", [(24183560851.5, "24.18B"), (2.657e12, "2.657T"), (1.51e8, "151.0M"),
                                         (999.6, "999.6"), (9.9996e9, "10.00B"), (7e10, "70.00B"), (0, "0"),
                                         (999.99999e9, "1.000T"), (999.96e6, "1.000B"), (999.94e9, "999.9B"),
                                         (9.99999999e17, "1.000e+18"), (-2.5e12, "-2.500T")])
def test_counts(value, text):
    assert F.count(value) == text


@pytest.mark.parametrize("fn, value, text", [
    (F.dollars, 1.43e6, "$1.43M"), (F.dollars, 712.3e3, "$712k"), (F.dollars, -3100, "-$3.10k"),
    (F.plain, 57.81, "57.8"), (F.plain, 12345.6, "12,346"), (F.ratio, 0.7096, "70.96%"),
    (F.ratio, 26.8054, "26.81×"), (F.ratio, 1.4677, "146.8%"), (F.flops, 3.855e23, "3.855e+23"),
    (F.readable, ("total_cost", 6.73e5), "$673k"), (F.readable, ("params", float("nan")), "-"),
])
def test_kinds(fn, value, text):
    assert (fn(*value) if isinstance(value, tuple) else fn(value)) == text
