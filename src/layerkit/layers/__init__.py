"""`layerkit.layers`: Layer and the built-in layers, with Keras 3's names and arguments."""
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer
from layerkit.layers.core.input_layer import Input, InputLayer
from layerkit.layers.core.dense import Dense
