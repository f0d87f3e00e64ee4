"""PReLU: a leaky ReLU whose negative slope `alpha` is learned, per unit or shared."""
from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class PReLU(Layer):
    """Parametric Rectified Linear Unit activation layer.

    `f(x) = x` for `x >= 0` and `alpha * x` for `x < 0`, where `alpha` is a trainable weight
    with one value per input unit (every non-batch axis). `shared_axes` shares one value along
    the given axes, e.g. `shared_axes=[1, 2]` on (batch, height, width, channels) feature maps
    learns one slope per channel.

    Args:
        alpha_initializer: initializer of `alpha` (default zeros: starts as a ReLU).
        alpha_regularizer: regularizer of `alpha`, added to `losses`.
        alpha_constraint: constraint applied to `alpha` after optimizer updates.
        shared_axes: an axis or list of axes (numbered from 1, the batch axis being 0) along
            which `alpha` is shared.

    Call arguments:
        inputs: a tensor of the rank the layer was built for.

    Input shape: (batch, ...). Output shape: the same. Weight: `alpha` of the input shape
    without the batch axis, with 1 on the shared axes.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.PReLU(alpha_initializer=lk.initializers.Constant(0.1), shared_axes=[1])
    >>> layer(lk.ops.convert_to_tensor([[[-1.0, 2.0], [3.0, -4.0]]]))
    <Tensor shape=(1, 2, 2), dtype=float32, numpy=
    [[[-0.1,  2. ],
      [ 3. , -0.4]]]>
    >>> layer.alpha.shape
    (1, 2)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(f"PReLU '{self.name}': `shared_axes` must be positive ints (axes numbered from 1; "
                                 f"the batch axis 0 is never shared), received {shared_axes!r}.")
            self.shared_axes = axes

    def build(self, input_shape):
        rank = len(input_shape)
        shared = set(self.shared_axes or ())
        bad = [a for a in shared if a >= rank]
        if bad:
            raise ValueError(f"PReLU '{self.name}': `shared_axes` {self.shared_axes} include axes {sorted(bad)} "
                             f"beyond the input's rank, but received an input of shape {tuple(input_shape)}.")
        param_shape = [1 if i in shared else d for i, d in enumerate(input_shape) if i > 0]
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared axis must be known to create `alpha`, but "
                             f"received an input of shape {tuple(input_shape)}; share the unknown axes with "
                             "`shared_axes`.")
        self.alpha = self.add_weight(shape=tuple(param_shape), name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, rank) if i not in shared}
        self.input_spec = InputSpec(ndim=rank, axes=axes)

    def call(self, inputs):
        pos = ops.relu(inputs)
        neg = ops.multiply(ops.negative(self.alpha), ops.relu(ops.negative(inputs)))
        return ops.add(pos, neg)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
