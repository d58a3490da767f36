"""What every layer may use: the error type, safe files, package data, runs, limits, constants, numbers."""
