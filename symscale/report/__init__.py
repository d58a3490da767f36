"""Presentation beyond the command line: figures and the paper's numbers reproduced."""
