"""AdditiveAttention: Bahdanau-style attention, scores from `sum(scale * tanh(query + key))`."""
from layerkit import ops
from layerkit.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Like `Attention`, but each query/key pair is scored by `sum(scale * tanh(query + key))`
    over the features, with a learned per-feature `scale` (when `use_scale`): a small
    nonlinear scorer instead of a dot product.

    Args:
        use_scale: whether to learn a (dim,) `scale` vector (glorot-uniform initialized).
        dropout: dropout rate on the attention probabilities, in training.
        seed: an int seeding the dropout.

    Call arguments:
        inputs: a list [query, value] or [query, value, key]: query (batch, Tq, dim), value
            (batch, Tv, dim), key (batch, Tv, dim) (`value` when omitted).
        mask: a list [query_mask, value_mask] of boolean (batch, Tq) / (batch, Tv) masks (by
            default the inputs' own masks).
        training: whether dropout is applied.
        return_attention_scores: whether to also return the attention probabilities (batch, Tq, Tv).
        use_causal_mask: whether position i may only attend to positions j <= i.

    Input shape: [(batch, Tq, dim), (batch, Tv, dim)] (+ key (batch, Tv, dim)).
    Output shape: (batch, Tq, dim); with `return_attention_scores`, also (batch, Tq, Tv).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.AdditiveAttention()
    >>> layer([lk.ops.ones((2, 3, 4)), lk.ops.ones((2, 5, 4))]).shape
    (2, 3, 4)
    >>> [w.shape for w in layer.weights]
    [(4,)]
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        dim = tuple(input_shape[0])[-1]
        if dim is None:
            raise ValueError(f"AdditiveAttention '{self.name}' needs the query's last axis to create `scale`, "
                             f"received a query of shape {tuple(input_shape[0])}.")
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform")

    def _calculate_scores(self, query, key):
        pairs = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = ops.multiply(self.scale, pairs)
        return ops.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
