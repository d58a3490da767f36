"""Symbolic problems derived from a law (sympy): lifetime optimum, planning, fit objective."""
