"""MultiHeadAttention: scaled dot-product attention over several learned projections (heads)."""
import math

from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.attention import _masks
from layerkit.layers.attention._equations import attention_equations, projection_equation
from layerkit.layers.core.einsum_dense import EinsumDense
from layerkit.layers.layer import Layer, shape_only
from layerkit.ops import SymbolicTensor
from layerkit.random import SeedGenerator, dropout as random_dropout


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class MultiHeadAttention(Layer):
    """Multi-head attention, as in "Attention Is All You Need" (Vaswani et al., 2017).

    `query`, `key` and `value` are each projected into `num_heads` heads; in every head, each
    query position takes a softmax-weighted average of the value vectors, weighted by the scaled
    dot products of its query vector with the key vectors; the heads are then concatenated and
    projected back to the query's feature size (or to `output_shape`). With `query`, `key` and
    `value` the same tensor this is self-attention, the core of a Transformer block.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (`key_dim` when None).
        dropout: dropout rate on the attention probabilities, in training.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (an int or a tuple); the query's last axis when None.
        attention_axes: the query axes attended over (by default every axis but the batch and the
            feature axes: the sequence axis for (batch, T, dim) inputs).
        sliding_window: if set, each query position attends only to key positions within
            `sliding_window - 1` of itself.
        flash_attention: accepted for compatibility and ignored.
        kernel_initializer, bias_initializer: initializers of the projections (cloned for each one).
        kernel_regularizer, bias_regularizer, activity_regularizer: regularizers of the projections.
        kernel_constraint, bias_constraint: constraints of the projections.
        use_gate: whether to gate the heads' outputs with `sigmoid(query projection)` before the
            output projection (gated attention).
        seed: an int seeding the attention dropout.

    Call arguments:
        query: (B, T, dim) query tensor.
        value: (B, S, dim) value tensor.
        key: optional (B, S, dim) key tensor; `value` when None.
        query_mask, value_mask, key_mask: optional boolean (B, T) / (B, S) padding masks; by
            default the inputs' own masks (`_keras_mask`) are used.
        attention_mask: optional boolean (B, T, S) mask, True where a query position may attend
            to a key position; broadcast over the heads.
        return_attention_scores: whether to also return the attention probabilities (B, heads, T, S).
        training: whether dropout is applied.
        use_causal_mask: whether position i may only attend to positions j <= i (a decoder).

    Input shape: query (B, T, dim), value (B, S, dim_v), key (B, S, dim_k).
    Output shape: (B, T, dim) (or (B, T, *output_shape)); with `return_attention_scores`, also
    the scores (B, num_heads, T, S).

    Example:
    >>> import layerkit as lk
    >>> mha = lk.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> query, value = lk.ops.ones((3, 5, 8)), lk.ops.ones((3, 6, 16))
    >>> out, scores = mha(query, value, return_attention_scores=True)
    >>> out.shape, scores.shape
    ((3, 5, 8), (3, 2, 5, 6))
    >>> [w.shape for w in mha.weights[::2]]
    [(8, 2, 4), (16, 2, 4), (16, 2, 4), (2, 4, 8)]
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = f"MultiHeadAttention '{self.name}'"
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not _positive_int(value):
                raise ValueError(f"{where}: `{arg}` must be a positive int, received {arg}={value!r}.")
        if value_dim is not None and not _positive_int(value_dim):
            raise ValueError(f"{where}: `value_dim` must be a positive int or None, received value_dim={value_dim!r}.")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ValueError(f"{where}: `dropout` must be a float in [0, 1), received dropout={dropout!r}.")
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) else output_shape
            if not isinstance(output_shape, (list, tuple)) or not all(_positive_int(d) for d in output_shape):
                raise ValueError(f"{where}: `output_shape` must be a positive int or a tuple of positive ints, "
                                 f"received output_shape={output_shape!r}.")
            output_shape = tuple(output_shape)
        else:
            output_shape = None
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            attention_axes = (attention_axes,)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)) or not attention_axes or not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in attention_axes):
                raise ValueError(f"{where}: `attention_axes` must be None, an int, or a list/tuple of ints, "
                                 f"received attention_axes={attention_axes!r}.")
            attention_axes = tuple(attention_axes)
        if sliding_window is not None and not _positive_int(sliding_window):
            raise ValueError(f"{where}: `sliding_window` must be None or a positive int, "
                             f"received sliding_window={sliding_window!r}.")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"{where}: `seed` must be an int or None, received seed={seed!r}.")
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim or key_dim
        self._dropout = float(dropout) if isinstance(dropout, int) else dropout
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        self._output_shape = output_shape
        self._attention_axes = attention_axes
        self._sliding_window = sliding_window
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        # as in Keras, the activity regularizer belongs to the projections, not to this layer
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._seed_generator = SeedGenerator(seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    # ---- build -------------------------------------------------------------------------------------

    def _projection(self, input_rank, bound_dims, output_shape, name, activation=None):
        """An EinsumDense contracting the last `bound_dims` input axes onto `output_shape` axes
        (with Keras's equation, so its kernel and bias have Keras's shapes)."""
        def clone(init):  # a fresh initializer per projection: unseeded ones then differ (as Keras)
            return init.clone() if hasattr(init, "clone") else init

        free = input_rank - bound_dims
        equation = projection_equation(free, bound_dims, len(output_shape))
        return EinsumDense(
            equation, output_shape=(None,) * (free - 1) + tuple(output_shape),
            bias_axes=equation[-len(output_shape):] if self._use_bias else None, activation=activation, name=name,
            dtype=self.dtype, kernel_initializer=clone(self._kernel_initializer),
            bias_initializer=clone(self._bias_initializer), kernel_regularizer=self._kernel_regularizer,
            bias_regularizer=self._bias_regularizer, activity_regularizer=self._activity_regularizer,
            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint)

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        where = f"MultiHeadAttention '{self.name}'"
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError(f"{where} expects `{arg}` of rank >= 3 (batch, ..., features) with a known last "
                                 f"axis, but received an input of shape {shape}.")
        if value_shape[1:-1] != key_shape[1:-1] or len(value_shape) != len(query_shape):
            raise ValueError(f"{where} expects `query`, `value` and `key` of the same rank, and `value` and `key` "
                             f"equal in every axis but the last, but received query_shape={query_shape}, "
                             f"value_shape={value_shape}, key_shape={key_shape}.")
        heads, rank = self._num_heads, len(query_shape)
        self.query_dense = self._projection(rank, 1, (heads, self._key_dim), "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(rank, 1, (heads, self._key_dim), "key")
        self.key_dense.build(key_shape)
        self.gate_dense = None
        if self._use_gate:
            self.gate_dense = self._projection(rank, 1, (heads, self._value_dim), "gate", activation="sigmoid")
            self.gate_dense.build(query_shape)
        self.value_dense = self._projection(rank, 1, (heads, self._value_dim), "value")
        self.value_dense.build(value_shape)
        self._build_attention(rank + 1)
        self.output_dense = self._projection(rank + 1, 2, self._output_shape or (query_shape[-1],),
                                             "attention_output")
        self.output_dense.build(query_shape[:-1] + (heads, self._value_dim))
        self._input_rank = rank
        self._feature_sizes = (query_shape[-1], value_shape[-1], key_shape[-1])

    def _axes(self, rank):
        """The attention axes for projected tensors of rank `rank` (batch, ..., heads, channels),
        non-negative and checked."""
        if self._attention_axes is None:
            return tuple(range(1, rank - 2))
        axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        if any(not 1 <= a <= rank - 3 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"MultiHeadAttention '{self.name}': `attention_axes` must name distinct query axes "
                             f"other than the batch (0) and feature (-1) axes, i.e. within [1, {rank - 3}] for "
                             f"inputs of rank {rank - 1}, received attention_axes={self._attention_axes}.")
        return axes

    def _build_attention(self, rank):
        """The einsum equations for projected tensors of rank `rank` (batch, ..., heads, channels)."""
        axes = self._attention_axes = self._axes(rank)
        self._dot_product_equation, self._combine_equation, scores_rank = attention_equations(rank, axes)
        self._norm_axes = tuple(range(scores_rank - len(axes), scores_rank))

    # ---- call --------------------------------------------------------------------------------------

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value = ops.convert_to_tensor(query), ops.convert_to_tensor(value)
        key = value if key is None else ops.convert_to_tensor(key)
        self._check_feature_sizes(query, value, key)
        # padding masks: the explicit arguments, else the masks the inputs carry (as Keras)
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        query_mask, value_mask, key_mask = [None if m is None else ops.cast(ops.convert_to_tensor(m), "bool")
                                            for m in (query_mask, value_mask, key_mask)]
        mask = self._compute_attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                            use_causal_mask)
        gate = self.gate_dense(query) if self.gate_dense is not None else None
        q = self.query_dense(query)  # (B, T, N, key_dim)
        k = self.key_dense(key)  # (B, S, N, key_dim)
        v = self.value_dense(value)  # (B, S, N, value_dim)
        output, scores = self._compute_attention(q, k, v, mask, training)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self.output_dense(output)
        if query_mask is not None:
            output._keras_mask = query_mask
        return (output, scores) if return_attention_scores else output

    def _check_feature_sizes(self, query, value, key):
        rank = self._input_rank
        for arg, x, size in zip(("query", "value", "key"), (query, value, key), self._feature_sizes):
            if x.ndim != rank or x.shape[-1] != size:
                raise ValueError(f"MultiHeadAttention '{self.name}' was built for a `{arg}` of rank {rank} with "
                                 f"{size} features, but received a `{arg}` of shape {tuple(x.shape)}.")

    def _compute_attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                                use_causal_mask):
        """The (B, T, S) boolean mask (None when nothing is masked): the AND of `attention_mask`,
        the boolean query mask as (B, T, 1), the value and key masks as (B, 1, S), and the causal
        and sliding-window masks as (1, T, S)."""
        causal = window = None
        if use_causal_mask:
            causal = _masks.causal_mask(query.shape[1], value.shape[1])
        if self._sliding_window is not None:
            window = _masks.sliding_window_mask(query.shape[1], value.shape[1], self._sliding_window)
        auto = _masks.combine(None if query_mask is None else ops.expand_dims(query_mask, -1),
                              None if value_mask is None else ops.expand_dims(value_mask, -2),
                              None if key_mask is None else ops.expand_dims(key_mask, -2), causal, window)
        explicit = None if attention_mask is None else ops.convert_to_tensor(attention_mask)
        return _masks.combine(explicit, auto)

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        """Scaled dot-product attention on the projected (B, T, N, key_dim) query, (B, S, N,
        key_dim) key and (B, S, N, value_dim) value; returns the (B, T, N, value_dim) output and
        the (B, N, T, S) attention probabilities (before dropout)."""
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            # broadcast over the heads (and the other batch-like axes): insert axes before the
            # query attention axes until the ranks match
            axis = -2 * len(self._attention_axes) - 1
            while attention_mask.ndim < scores.ndim:
                attention_mask = ops.expand_dims(attention_mask, axis)
        probs = _masks.masked_softmax(scores, attention_mask, self._norm_axes)
        dropped = probs
        if training and self._dropout > 0 and not shape_only(probs):
            dropped = random_dropout(probs, self._dropout, seed=self._seed_generator)
        return ops.einsum(self._combine_equation, dropped, value), probs

    # ---- shapes and config -------------------------------------------------------------------------

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"MultiHeadAttention '{self.name}' expects `value` and `key` equal in every axis but "
                             f"the last, received value_shape={value_shape} and key_shape={key_shape}.")
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
                            attention_mask=None, return_attention_scores=False, training=None,
                            use_causal_mask=False):
        shape = self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape)
        out = SymbolicTensor(shape, self.dtype)
        if not return_attention_scores:
            return out
        # (batch, <other axes>, heads, <query attention axes>, <key attention axes>): see attention_equations
        rank = len(query.shape) + 1
        axes = self._axes(rank)
        projected = tuple(query.shape[:-1]) + (self._num_heads,)
        source = (key if key is not None else value).shape
        scores = (tuple(projected[i] for i in range(rank - 1) if i not in axes) + tuple(query.shape[a] for a in axes)
                  + tuple(source[a] for a in axes))
        return out, SymbolicTensor(scores, self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "seed": self.seed,
        })
        return config
