"""`python -m symscale` runs the command line."""

from symscale.cli import main

main()
