"""Attention layers."""
from layerkit.layers.attention.multi_head_attention import MultiHeadAttention
from layerkit.layers.attention.attention import Attention
from layerkit.layers.attention.additive_attention import AdditiveAttention

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]
