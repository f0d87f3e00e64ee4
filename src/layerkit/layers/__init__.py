"""`layerkit.layers`: Layer and the built-in layers, with Keras 3's names and arguments.

One layer per module, grouped by family; each family's package exports its layers.
"""
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer
from layerkit.layers.core import *  # noqa: F401,F403
from layerkit.layers.activations import *  # noqa: F401,F403
from layerkit.layers.merging import *  # noqa: F401,F403
from layerkit.layers.regularization import *  # noqa: F401,F403
from layerkit.layers.preprocessing import *  # noqa: F401,F403
from layerkit.layers.reshaping import *  # noqa: F401,F403
from layerkit.layers.convolutional import *  # noqa: F401,F403
from layerkit.layers.pooling import *  # noqa: F401,F403
from layerkit.layers.normalization import *  # noqa: F401,F403
from layerkit.layers.rnn import *  # noqa: F401,F403
from layerkit.layers.attention import *  # noqa: F401,F403
