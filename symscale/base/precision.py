"""Limits of the working precision (decimal digits) of the mpmath checks, shared by the library and every --dps."""

MIN_DPS = 20
"""Fewer digits could not confirm a float64 answer to its 16 digits with a margin."""

MAX_DPS = 1000
"""More digits make the high-precision re-solve take minutes per scenario without checking anything more."""
