"""BatchNormalization: normalizes each feature with the batch's statistics while training and with
moving averages of them at inference."""
import numbers

from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer, shape_only

# Keras's backend.epsilon(): keeps the masked moments finite when a whole batch is masked out.
_MASK_EPSILON = 1e-7


def _ones_like(x):
    """Ones of `x`'s shape and dtype, also for symbolic inputs with unknown dimensions (where
    `ops.ones_like` needs a concrete shape)."""
    return ops.where(True, 1.0, x)


class BatchNormalization(Layer):
    """Layer that normalizes its inputs with batch statistics (training) or moving ones (inference).

    It keeps the mean output of each feature close to 0 and its standard deviation close to 1,
    which speeds up and stabilizes the training of deep networks. It behaves differently in
    training and in inference:

    - `training=True` (e.g. in `fit()`): each feature `c` is normalized with the mean and the
      (biased) variance of the current batch over every axis except `axis`,
      `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta`, and the moving statistics are
      updated in place: `moving = moving * momentum + batch_statistic * (1 - momentum)`.
    - `training=False` or None (e.g. `predict()`): the moving statistics are used instead,
      `gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta`.

    A frozen layer (`layer.trainable = False`) always runs in inference mode, even when called
    with `training=True`, and leaves its moving statistics alone (Keras 3 does the same: freezing
    a BatchNormalization layer is how fine-tuning keeps a pretrained model's statistics).

    Args:
        axis: the features axis, the one that is not reduced (e.g. 1 after a channels-first
            convolution).
        momentum: momentum of the moving averages.
        epsilon: small float added to the variance to avoid dividing by zero.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned factor `gamma`.
        beta_initializer, gamma_initializer: initializers of `beta` and `gamma`.
        moving_mean_initializer, moving_variance_initializer: initializers of the moving statistics.
        beta_regularizer, gamma_regularizer: regularizers of `beta` and `gamma`.
        beta_constraint, gamma_constraint: constraints of `beta` and `gamma`.
        synchronized: (Keras: synchronizes the statistics across devices.) layerkit runs on one
            device, where synchronized statistics are the local ones, so it changes nothing.
        renorm: batch renormalization is not supported; only `renorm=False` is accepted.
        renorm_clipping, renorm_momentum: kept in the config for compatibility.

    Call arguments:
        inputs: a tensor of any rank.
        training: whether to normalize with the batch statistics (and update the moving ones).
        mask: a boolean tensor of the input's shape without its last axis (e.g. (batch, steps) for
            (batch, steps, features)); in training mode only its True positions count in the batch
            statistics.

    Input shape: arbitrary. Output shape: the input's shape.

    Example:
    >>> import layerkit as lk
    >>> import numpy as np
    >>> layer = lk.layers.BatchNormalization(momentum=0.5)
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype="float32")
    >>> np.round(np.asarray(layer(x, training=True)), 2)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> np.asarray(layer.moving_mean)
    array([ 1., 10.], dtype=float32)
    >>> [w.name for w in layer.weights]
    ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        who = f"BatchNormalization '{self.name}'"
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"{who}: `axis` must be an int (one features axis), received {axis!r}.")
        for arg, value in (("momentum", momentum), ("epsilon", epsilon)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{who}: `{arg}` must be a float, received {value!r}.")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{who}: `momentum` must be in [0, 1], received {momentum!r}.")
        if epsilon <= 0:
            raise ValueError(f"{who}: `epsilon` must be positive, received {epsilon!r}.")
        if renorm:
            raise ValueError(f"{who}: batch renormalization (`renorm=True`) is not supported by layerkit; "
                             "use renorm=False.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = bool(synchronized)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduction_axes = None

    def _check_axis(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of bounds for an input of "
                             f"shape {tuple(input_shape)} (rank {rank}).")
        return self.axis % rank

    def build(self, input_shape):
        axis = self._check_axis(input_shape)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} of the input must be known to "
                             f"create the weights, received an input of shape {tuple(input_shape)}.")
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        self._reduction_axes = tuple(i for i in range(len(input_shape)) if i != axis)

    def call(self, inputs, training=None, mask=None):
        if mask is not None and len(mask.shape) != len(inputs.shape) - 1:
            raise ValueError(f"BatchNormalization '{self.name}' expects a mask of rank {len(inputs.shape) - 1} (the "
                             f"input's rank minus one), but received a mask of shape {tuple(mask.shape)} for an "
                             f"input of shape {tuple(inputs.shape)}.")
        if inputs.dtype != self.dtype:
            inputs = ops.cast(inputs, self.dtype)
        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            self._update_moving_statistics(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        # gamma * (x - mean) * rsqrt(var + eps) + beta, arranged as x * inv + (beta - mean * inv)
        # (Keras's order of operations, so float32 results agree to rounding)
        broadcast = [1] * len(inputs.shape)
        broadcast[self.axis] = -1
        inv = ops.rsqrt(ops.reshape(variance, broadcast) + self.epsilon)
        if self.gamma is not None:
            inv = inv * ops.reshape(self.gamma, broadcast)
        res = ops.negative(ops.reshape(mean, broadcast)) * inv
        if self.beta is not None:
            res = res + ops.reshape(self.beta, broadcast)
        return inputs * inv + res

    def _moments(self, x, mask):
        """Per-feature mean and biased variance of `x` over the reduction axes (True mask
        positions only, when a mask is given), each of shape (features,)."""
        axes = self._reduction_axes
        if mask is None and all(x.shape[a] is not None for a in axes):
            mean = ops.mean(x, axis=axes, keepdims=True)
            variance = ops.mean(ops.square(x - mean), axis=axes, keepdims=True)
        elif mask is None:  # a symbolic input with an unknown batch size: count with a reduction
            count = ops.sum(_ones_like(x), axis=axes, keepdims=True)
            mean = ops.sum(x, axis=axes, keepdims=True) / count
            variance = ops.sum(ops.square(x - mean), axis=axes, keepdims=True) / count
        else:
            # the mask covers every axis but the last; `where` broadcasts it over the last one
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            count = ops.sum(ops.where(keep, _ones_like(x), 0.0), axis=axes, keepdims=True) + _MASK_EPSILON
            mean = ops.sum(ops.where(keep, x, 0.0), axis=axes, keepdims=True) / count
            variance = ops.sum(ops.square(ops.where(keep, x - mean, 0.0)), axis=axes, keepdims=True) / count
        return ops.reshape(mean, (-1,)), ops.reshape(variance, (-1,))

    def _update_moving_statistics(self, mean, variance):
        """moving = moving * momentum + batch * (1 - momentum), written into the variables.

        The new values are built from stop_gradient'ed batch statistics: the update is state,
        not part of the differentiated computation."""
        if shape_only(mean):
            return  # a Functional model's shape inference has no values to store
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + ops.stop_gradient(mean) * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + ops.stop_gradient(variance) * (1.0 - m))

    def compute_output_shape(self, input_shape):
        self._check_axis(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config
