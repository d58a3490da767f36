"""`python -m symscale` runs the command line."""

from .cli import main

main()
