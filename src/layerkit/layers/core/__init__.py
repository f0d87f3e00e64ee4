"""Core layers."""
from layerkit.layers.core.input_layer import Input, InputLayer
from layerkit.layers.core.dense import Dense
