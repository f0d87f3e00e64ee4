"""SpatialDropout1D/2D/3D: dropout of whole feature maps (channels) rather than single units.

The three variants differ only in the input rank and the shape of the keep-mask, so they share
this module (as in Keras)."""
from layerkit import ops, random
from layerkit.layers.core.flatten import standardize_data_format
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import shape_only
from layerkit.layers.regularization.dropout import Dropout


class BaseSpatialDropout(Dropout):
    """Dropout with one keep/drop decision per (sample, channel), shared along the other axes.

    Adjacent frames or pixels of a feature map are strongly correlated, so dropping single
    units barely regularizes; dropping whole channels does.
    """

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)

    def _noise_shape(self, shape):
        raise NotImplementedError(f"{type(self).__name__} must define _noise_shape(shape): which axes share a draw.")

    def call(self, inputs, training=False):
        if not training or self.rate == 0 or shape_only(inputs):
            return inputs
        if self.rate >= 1:
            return ops.zeros_like(inputs)
        return random.dropout(inputs, self.rate, noise_shape=self._noise_shape(tuple(inputs.shape)),
                              seed=self.seed_generator)

    def get_config(self):
        # Keras's spatial dropouts have exactly these keys (no `trainable`)
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(BaseSpatialDropout):
    """Spatial 1D version of Dropout: drops entire 1D feature maps (channels of a sequence).

    Args:
        rate: the fraction of channels to drop, a float in [0, 1].
        seed: an int seed for reproducible masks.

    Call arguments:
        inputs: a tensor of rank 3, (batch, steps, channels).
        training: whether to drop (True) or pass the input through.

    Input shape: (batch, steps, channels). Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> out = lk.layers.SpatialDropout1D(0.5, seed=0)(lk.ops.ones((2, 3, 4)), training=True)
    >>> out.shape
    (2, 3, 4)
    """

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.input_spec = InputSpec(ndim=3)

    def _noise_shape(self, shape):
        return (shape[0], 1, shape[2])


class SpatialDropout2D(BaseSpatialDropout):
    """Spatial 2D version of Dropout: drops entire 2D feature maps (channels of an image).

    Args:
        rate: the fraction of channels to drop, a float in [0, 1].
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or
            "channels_first" ((batch, channels, rows, cols)).
        seed: an int seed for reproducible masks.

    Call arguments:
        inputs: a tensor of rank 4.
        training: whether to drop (True) or pass the input through.

    Input shape: 4D, as `data_format` says. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> out = lk.layers.SpatialDropout2D(0.5, seed=0)(lk.ops.ones((2, 3, 3, 4)), training=True)
    >>> out.shape
    (2, 3, 3, 4)
    """

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(f"SpatialDropout2D '{self.name}'", data_format)
        self.input_spec = InputSpec(ndim=4)

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout3D(BaseSpatialDropout):
    """Spatial 3D version of Dropout: drops entire 3D feature maps (channels of a volume).

    Args:
        rate: the fraction of channels to drop, a float in [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: an int seed for reproducible masks.

    Call arguments:
        inputs: a tensor of rank 5.
        training: whether to drop (True) or pass the input through.

    Input shape: 5D, as `data_format` says. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> out = lk.layers.SpatialDropout3D(0.5, seed=0)(lk.ops.ones((1, 2, 2, 2, 3)), training=True)
    >>> out.shape
    (1, 2, 2, 2, 3)
    """

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(f"SpatialDropout3D '{self.name}'", data_format)
        self.input_spec = InputSpec(ndim=5)

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1, 1)
        return (shape[0], 1, 1, 1, shape[4])

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
