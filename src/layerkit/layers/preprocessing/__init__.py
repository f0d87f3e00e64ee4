"""Preprocessing layers that run inside a model: Rescaling."""
from layerkit.layers.preprocessing.rescaling import Rescaling

__all__ = ["Rescaling"]
