"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from layerkit.layers.activations.activation import Activation
from layerkit.layers.activations.elu import ELU
from layerkit.layers.activations.leaky_relu import LeakyReLU
from layerkit.layers.activations.prelu import PReLU
from layerkit.layers.activations.relu import ReLU
from layerkit.layers.activations.softmax import Softmax

__all__ = ["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
