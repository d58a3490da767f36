"""Scenarios around the core: planning questions (budgets, break-even, smaller models), sweeps, reference models."""
