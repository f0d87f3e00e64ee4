"""Normalization layers."""
from layerkit.layers.normalization.batch_normalization import BatchNormalization
from layerkit.layers.normalization.group_normalization import GroupNormalization
from layerkit.layers.normalization.layer_normalization import LayerNormalization
from layerkit.layers.normalization.unit_normalization import UnitNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]
