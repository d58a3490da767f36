"""The FLOP-count conventions (Kaplan et al. 2020), shared by the symbolic model and numeric code."""

TRAIN_FLOPS_PER_PARAM_TOKEN = 6
"""Training costs about 6 FLOPs per parameter per token (forward and backward pass)."""

INFERENCE_FLOPS_PER_PARAM_TOKEN = 2
"""Inference costs about 2 FLOPs per parameter per token (forward pass)."""
