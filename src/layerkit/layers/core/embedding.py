"""Embedding: turns integer indices into dense vectors, rows of a trainable table."""
import warnings

from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.layer import Layer


class Embedding(Layer):
    """Turns non-negative integers (indexes) into dense vectors of fixed size.

    `Embedding(input_dim, output_dim)` holds an `(input_dim, output_dim)` table `embeddings`; an
    input index `i` gives row `i`. Use it as the first layer for token ids, category ids or any
    integer feature. With `mask_zero=True`, index 0 means padding: the layer emits a mask
    (`inputs != 0`) that the following mask-aware layers (RNNs, attention, merges, Softmax)
    use, so `input_dim` must then be the vocabulary size + 1.

    Args:
        input_dim: size of the vocabulary (largest index + 1), a positive int.
        output_dim: size of each embedding vector, a positive int.
        embeddings_initializer: initializer of the table (default `"uniform"`:
            RandomUniform(-0.05, 0.05), as in Keras).
        embeddings_regularizer: regularizer of the table, added to `losses`.
        embeddings_constraint: constraint applied to the table after optimizer updates.
        mask_zero: whether index 0 is padding to be masked.
        weights: optional initial table (an array, or a list holding one array).
        activity_regularizer: regularizer of the output.

    Call arguments:
        inputs: an integer tensor of indices (float inputs are cast to int32, as in Keras).

    Input shape: (batch, ...). Output shape: (batch, ..., output_dim), of the layer's dtype.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Embedding(10, 4, mask_zero=True)
    >>> out = layer(lk.ops.convert_to_tensor([[3, 1, 0]]))
    >>> out.shape
    (1, 3, 4)
    >>> out._keras_mask
    <Tensor shape=(1, 3), dtype=bool, numpy=
    [[ True,  True, False]]>
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: argument `input_length` is deprecated (and ignored). Just remove it.")
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding '{self.name}': `{arg}` must be a positive int, received {value!r} "
                                 f"(of type {type(value).__name__}).")
        if lora_rank:
            raise ValueError(f"Embedding '{self.name}': LoRA (`lora_rank`) is not supported.")
        if quantization_config is not None:
            raise ValueError(f"Embedding '{self.name}': quantization is not supported (received "
                             f"quantization_config={quantization_config!r}).")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, inputs):
        if inputs.dtype not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        outputs = ops.take(self.embeddings, inputs, axis=0)
        return ops.cast(outputs, self.dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        })
        return config
