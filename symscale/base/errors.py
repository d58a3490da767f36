"""Errors raised for bad input; the command line turns them into one line and exit status 2."""


class InputError(ValueError):
    """Input that has no meaningful answer (unreachable loss, bad file, unknown name, ...)."""
