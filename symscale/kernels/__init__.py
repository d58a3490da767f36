"""Numeric kernels: generated modules (committed, drift-checked) and the run-time lambdify cache."""
