"""LayerNormalization: normalizes each sample over its feature axes (Ba et al., 2016)."""
import numbers
import warnings

from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class LayerNormalization(Layer):
    """Layer normalization: each sample is normalized over `axis`, independently of the batch.

    Unlike BatchNormalization it behaves the same in training and inference and does not depend
    on the batch size, which makes it the usual choice in transformers and recurrent networks.
    For each sample, with mean and (biased) variance taken over `axis`:
    `outputs = gamma * (x - mean) / sqrt(var + epsilon) + beta`, where `gamma` and `beta` span
    the normalized axes.

    Args:
        axis: an int or a list of ints, the axis or axes to normalize over (-1: the last).
        epsilon: small float added to the variance to avoid dividing by zero.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned factor `gamma`.
        rms_scaling: (deprecated in Keras) when True, `outputs = x / sqrt(var + epsilon) * gamma`,
            without centering and without `beta`; kept for loading old models.
        beta_initializer, gamma_initializer: initializers of `beta` and `gamma`.
        beta_regularizer, gamma_regularizer: regularizers of `beta` and `gamma`.
        beta_constraint, gamma_constraint: constraints of `beta` and `gamma`.

    Call arguments:
        inputs: a tensor whose dimensions on `axis` are known.

    Input shape: arbitrary. Output shape: the input's shape.

    Example:
    >>> import layerkit as lk
    >>> import numpy as np
    >>> layer = lk.layers.LayerNormalization(epsilon=0.0)
    >>> np.round(np.asarray(layer(np.array([[1.0, 3.0], [2.0, 10.0]], dtype="float32"))), 2)
    array([[-1.,  1.],
           [-1.,  1.]], dtype=float32)
    >>> [w.shape for w in layer.weights]
    [(2,), (2,)]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = f"LayerNormalization '{self.name}'"
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(not isinstance(a, numbers.Integral) or isinstance(a, bool) for a in axes):
            raise TypeError(f"{who}: `axis` must be an int or a non-empty list of ints, received {axis!r}.")
        if len(set(axes)) != len(axes):
            raise ValueError(f"{who}: `axis` repeats an axis, received {axis!r}.")
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(f"{who}: `epsilon` must be a non-negative float, received {epsilon!r}.")
        if rms_scaling:
            warnings.warn(f"{who}: `rms_scaling=True` is deprecated in Keras: it scales the input by the variance, "
                          "not by the root mean square.", stacklevel=2)
        # a list in the config, like Keras once built (spec §2.8); sorted like Keras's build
        self.axis = sorted(int(a) for a in axes)
        self.epsilon = epsilon
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def _positive_axes(self, input_shape):
        rank = len(input_shape)
        for a in self.axis:
            if not -rank <= a < rank:
                raise ValueError(f"LayerNormalization '{self.name}': axis {a} is out of bounds for an input of "
                                 f"shape {tuple(input_shape)} (rank {rank}); received axis={self.axis}.")
        positive = [a % rank for a in self.axis]
        if len(set(positive)) != len(positive):
            raise ValueError(f"LayerNormalization '{self.name}': axis={self.axis} names the same axis twice for an "
                             f"input of rank {rank}.")
        return positive

    def build(self, input_shape):
        self._positive_axes(input_shape)
        shape = tuple(input_shape[a] for a in self.axis)  # in `axis` order, as Keras does
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization '{self.name}': the input's dimensions on axis={self.axis} must be "
                             f"known to create the weights, received an input of shape {tuple(input_shape)}.")
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.input_spec = InputSpec(axes=dict(zip(self.axis, shape)))

    def call(self, inputs):
        x = inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)
        axes = self._positive_axes(x.shape)
        broadcast = [1] * len(x.shape)
        for a in self.axis:
            broadcast[a] = x.shape[a]
        gamma = None if self.gamma is None else ops.reshape(self.gamma, broadcast)
        beta = None if self.beta is None else ops.reshape(self.beta, broadcast)
        mean = ops.mean(x, axis=axes, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=axes, keepdims=True)
        inv = ops.rsqrt(variance + self.epsilon)
        if self.rms_scaling:
            out = x * inv
            return out if gamma is None else out * gamma
        # gamma * (x - mean) * inv + beta, arranged as x * inv + (beta - mean * inv) like Keras
        if gamma is not None:
            inv = inv * gamma
        res = ops.negative(mean) * inv
        if beta is not None:
            res = res + beta
        return x * inv + res

    def compute_output_shape(self, input_shape):
        self._positive_axes(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": list(self.axis),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config
