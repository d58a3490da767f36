"""``python -m symscale.codegen``: writes every committed kernel module (symscale.kernels.codegen)."""

from symscale.kernels.codegen import main

if __name__ == "__main__":
    main()
