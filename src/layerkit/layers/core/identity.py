"""Identity: a placeholder layer that returns its inputs unchanged."""
from layerkit.layers.layer import Layer


class Identity(Layer):
    """Identity layer: returns its inputs unchanged (masks pass through).

    Use it as a placeholder where a layer is expected but nothing should happen, e.g. an
    optional projection that is switched off, or a named no-op output of a Functional model.

    Call arguments:
        inputs: a tensor, or a nested structure of tensors.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Identity()(lk.ops.ones((2, 3))).shape
    (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
