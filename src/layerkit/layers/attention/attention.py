"""Attention: dot-product (Luong-style) attention between a query and a value sequence."""
from layerkit import ops
from layerkit.layers.attention import _masks
from layerkit.layers.layer import Layer, shape_only
from layerkit.ops import SymbolicTensor
from layerkit.random import SeedGenerator, dropout as random_dropout


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Each query position takes a softmax-weighted average of the value vectors, weighted by its
    scores against the keys: `softmax(query @ key^T) @ value`. Unlike MultiHeadAttention it has
    no projections: use it on tensors that already live in a shared feature space (e.g. the
    states of an encoder and a decoder).

    Args:
        use_scale: whether to learn a scalar `scale` multiplying the scores.
        score_mode: "dot" (`query . key`) or "concat" (`concat_score_weight * sum(tanh(query + key))`).
        dropout: dropout rate on the attention probabilities, in training.
        seed: an int seeding the dropout.

    Call arguments:
        inputs: a list [query, value] or [query, value, key]: query (batch, Tq, dim), value
            (batch, Tv, dim), key (batch, Tv, dim) (`value` when omitted).
        mask: a list [query_mask, value_mask] of boolean (batch, Tq) / (batch, Tv) masks (by
            default the inputs' own masks). Masked values get no attention; masked query
            positions give zero outputs.
        training: whether dropout is applied.
        return_attention_scores: whether to also return the attention probabilities (batch, Tq, Tv).
        use_causal_mask: whether position i may only attend to positions j <= i.

    Input shape: [(batch, Tq, dim), (batch, Tv, dim)] (+ key (batch, Tv, dim)).
    Output shape: (batch, Tq, dim); with `return_attention_scores`, also (batch, Tq, Tv).

    Example:
    >>> import layerkit as lk
    >>> query, value = lk.ops.ones((2, 3, 4)), lk.ops.ones((2, 5, 4))
    >>> out, scores = lk.layers.Attention()([query, value], return_attention_scores=True)
    >>> out.shape, scores.shape
    ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{where}: `score_mode` must be 'dot' or 'concat', received score_mode={score_mode!r}.")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ValueError(f"{where}: `dropout` must be a float in [0, 1), received dropout={dropout!r}.")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"{where}: `seed` must be an int or None, received seed={seed!r}.")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self._seed_generator = SeedGenerator(seed) if dropout > 0 else None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones")

    def _validate_inputs(self, inputs, mask=None):
        """`inputs`: a list of 2 or 3 tensors (or shapes) of rank >= 2, query and key features
        alike, value and key steps alike; `mask`: None or a list of 2 or 3."""
        where = f"{type(self).__name__} '{self.name}'"
        listed = isinstance(inputs, (list, tuple)) and all(hasattr(x, "shape") or isinstance(x, (list, tuple))
                                                           for x in inputs)  # not one tensor's shape
        if not listed or not 2 <= len(inputs) <= 3:
            if listed:
                received = f"a list of length {len(inputs)}"
            else:
                shape = tuple(inputs.shape) if hasattr(inputs, "shape") else inputs
                received = f"a single input of shape {shape}"
            raise ValueError(f"{where} must be called on a list [query, value] or [query, value, key], "
                             f"received {received}.")
        shapes = [tuple(x.shape) if hasattr(x, "shape") else tuple(x) for x in inputs]
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"{where} expects inputs of rank >= 2 (batch, steps, dim), received shapes {shapes}.")
        if not _same(value[-2], key[-2]) or not _same(query[-1], key[-1]):
            raise ValueError(f"{where} expects the key (the value when no key is given) to have the query's feature "
                             f"size, and the value and key the same number of steps; received shapes query {query}, "
                             f"value {value}, key {key}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{where} expects `mask` to be a list [query_mask, value_mask], received {mask!r}.")

    def _calculate_scores(self, query, key):
        """The (batch, Tq, Tv) scores of every query position against every key position."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        pairs = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = ops.multiply(self.scale, pairs)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(pairs), axis=-1))

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """softmax(scores) @ value, with masked scores lowered by 1e9 (Keras's formula); returns
        the output and the attention probabilities (before dropout)."""
        if scores_mask is not None:
            if scores_mask.ndim == scores.ndim - 1:
                scores_mask = ops.expand_dims(scores_mask, -2)
            scores = ops.where(scores_mask, scores, ops.add(scores, _masks.LARGE_NEGATIVE))
        weights = ops.softmax(scores, axis=-1)
        dropped = weights
        if training and self.dropout > 0 and not shape_only(weights):
            dropped = random_dropout(weights, self.dropout, seed=self._seed_generator)
        return ops.matmul(dropped, value), weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = v_mask = None
        if mask:
            q_mask = None if mask[0] is None else ops.cast(ops.convert_to_tensor(mask[0]), "bool")
            v_mask = None if mask[1] is None else ops.cast(ops.convert_to_tensor(mask[1]), "bool")
        scores = self._calculate_scores(query, key)
        causal = _masks.causal_mask(scores.shape[-2], scores.shape[-1]) if use_causal_mask else None
        scores_mask = _masks.combine(None if v_mask is None else ops.expand_dims(v_mask, -2), causal)
        output, weights = self._apply_scores(scores, value, scores_mask, training)
        if q_mask is not None:
            output = ops.where(ops.expand_dims(q_mask, -1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        if not mask or mask[0] is None:
            return None
        return ops.convert_to_tensor(mask[0])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, training=None,
                            use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        out = SymbolicTensor(self.compute_output_shape([x.shape for x in inputs]), self.dtype)
        if not return_attention_scores:
            return out
        key = inputs[2] if len(inputs) > 2 else inputs[1]
        return out, SymbolicTensor(tuple(inputs[0].shape[:-1]) + (key.shape[-2],), self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        })
        return config


def _same(a, b):
    return a is None or b is None or a == b
