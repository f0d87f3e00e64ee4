"""Datasets that ship with layerkit, so examples and tests run without a network."""
from layerkit.datasets import digits

__all__ = ["digits"]
