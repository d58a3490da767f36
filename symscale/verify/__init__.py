"""Independent checks: mpmath re-solves, closed forms and Galois groups, the Appendix A proof."""
