"""Core layers."""
from layerkit.layers.core.input_layer import Input, InputLayer
from layerkit.layers.core.dense import Dense
from layerkit.layers.core.einsum_dense import EinsumDense
from layerkit.layers.core.embedding import Embedding
from layerkit.layers.core.lambda_layer import Lambda
from layerkit.layers.core.identity import Identity
from layerkit.layers.core.masking import Masking
from layerkit.layers.core.flatten import Flatten
from layerkit.layers.core.reshape import Reshape
from layerkit.layers.core.permute import Permute
from layerkit.layers.core.repeat_vector import RepeatVector

__all__ = ["Input", "InputLayer", "Dense", "EinsumDense", "Embedding", "Lambda", "Identity", "Masking", "Flatten",
           "Reshape", "Permute", "RepeatVector"]
