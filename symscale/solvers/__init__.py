"""Numeric solvers (numpy, vectorised): the Chinchilla fast path, the dollar objective, any law, the data wall, fits."""
