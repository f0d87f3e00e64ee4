"""layerkit: a Keras-style deep-learning framework over a C++ compute core."""
__version__ = "0.1.0"

from layerkit import backend  # noqa: F401  (loads the compute core first)
from layerkit import ops
from layerkit.ops import Operation, SymbolicTensor, KerasTensor, Tensor, convert_to_tensor, from_dlpack
from layerkit.autodiff import GradientTape, Variable
from layerkit import random, config, utils, datasets
from layerkit import activations, constraints, initializers, regularizers, layers, models
from layerkit.models import Model, Sequential
from layerkit.graph import TensorSpec, function
from layerkit import debugging

__all__ = [
    "ops", "random", "config", "utils", "datasets", "activations", "constraints", "initializers", "regularizers",
    "layers", "models", "Model", "Sequential", "function", "TensorSpec", "debugging", "Operation", "Tensor", "SymbolicTensor", "KerasTensor", "Variable",
    "GradientTape", "convert_to_tensor", "from_dlpack",
]
