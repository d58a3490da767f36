"""Generated kernel modules of the built-in laws (written by ``python -m symscale.codegen``; do not edit)."""
