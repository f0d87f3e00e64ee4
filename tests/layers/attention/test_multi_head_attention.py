"""MultiHeadAttention: conformance, a NumPy reference, masks, dropout, errors, and Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import layers
from layerkit.autodiff import GradientTape
from layerkit.testing import run_layer_test

# Keras's own get_weights() triggers a NumPy 2 deprecation warning inside Keras
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

RNG = np.random.default_rng(0)


class _PairMHA(layers.MultiHeadAttention):
    """MultiHeadAttention called on one list [query, value] or [query, value, key]: the single-input
    form run_layer_test feeds. Everything else is MultiHeadAttention's own code."""

    def build(self, input_shape):
        super().build(*input_shape)

    def call(self, inputs, training=None, use_causal_mask=False, return_attention_scores=False):
        return super().call(*inputs, training=training, use_causal_mask=use_causal_mask,
                            return_attention_scores=return_attention_scores)

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(*input_shape)


def _data(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _softmax(x, mask=None):
    if mask is not None:
        x = np.where(mask, x, -1e9)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p if mask is None else np.where(mask, p, 0.0)


def _numpy_mha(query, value, weights, key_dim, key=None, mask=None):
    """Multi-head attention from its definition: per-head projections, softmax(QK^T / sqrt(d)) V,
    heads concatenated and projected. `mask`: boolean (B, T, S) or None."""
    wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(w, np.float64) for w in weights]
    key = value if key is None else key
    q = np.einsum("btd,dnh->btnh", query, wq) + bq
    k = np.einsum("bsd,dnh->bsnh", key, wk) + bk
    v = np.einsum("bsd,dnh->bsnh", value, wv) + bv
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(key_dim)
    probs = _softmax(logits, None if mask is None else mask[:, None])
    heads = np.einsum("bnts,bsnh->btnh", probs, v)
    return np.einsum("btnh,nhd->btd", heads, wo) + bo, probs


def _randomize(layer, scale=0.5):
    layer.set_weights([RNG.standard_normal(w.shape).astype("float32") * scale for w in layer.get_weights()])


# ---- conformance -------------------------------------------------------------------------------


def test_run_layer_test_query_value():
    layer = run_layer_test(_PairMHA, init_kwargs={"num_heads": 2, "key_dim": 3}, input_shape=[(2, 4, 5), (2, 3, 6)],
                           expected_output_shape=(2, 4, 5), expected_num_trainable_weights=8,
                           expected_num_non_trainable_weights=0)
    assert [w.shape for w in layer.weights] == [(5, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3),
                                                (2, 3, 5), (5,)]
    assert [w.path for w in layer.weights] == ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
                                               "value/bias", "attention_output/kernel", "attention_output/bias"]


def test_run_layer_test_causal_key_value_dim_output_shape():
    run_layer_test(_PairMHA, init_kwargs={"num_heads": 2, "key_dim": 2, "value_dim": 3, "output_shape": 4},
                   input_shape=[(2, 3, 5), (2, 3, 4), (2, 3, 6)], call_kwargs={"use_causal_mask": True},
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=8)


def test_run_layer_test_gate_no_bias_with_scores():
    run_layer_test(_PairMHA, init_kwargs={"num_heads": 2, "key_dim": 2, "use_gate": True, "use_bias": False},
                   input_shape=[(2, 3, 4), (2, 5, 4)], call_kwargs={"return_attention_scores": True},
                   expected_output_shape=[(2, 3, 4), (2, 2, 3, 5)], expected_num_trainable_weights=5)


def test_functional_model_with_two_inputs():
    q_in, v_in = lk.layers.Input((4, 5)), lk.layers.Input((3, 6))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    out, scores = mha(q_in, v_in, return_attention_scores=True)
    assert out.shape == (None, 4, 5) and scores.shape == (None, 2, 4, 3)
    model = lk.models.Model([q_in, v_in], [out, scores])
    q, v = _data(2, 4, 5), _data(2, 3, 6)
    got = model([q, v])
    want = mha(q, v, return_attention_scores=True)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    assert mha.compute_output_shape((None, 4, 5), (None, 3, 6)) == (None, 4, 5)
    spec, scores_spec = mha.compute_output_spec(q_in, v_in, return_attention_scores=True)
    assert spec.shape == (None, 4, 5) and scores_spec.shape == (None, 2, 4, 3)


def test_gradient_step_reaches_all_eight_weights():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v = lk.ops.convert_to_tensor(_data(2, 4, 5)), lk.ops.convert_to_tensor(_data(2, 3, 6))
    mha(q, v)
    _randomize(mha)
    with GradientTape() as tape:
        loss = lk.ops.sum(lk.ops.square(mha(q, v)))
    grads = tape.gradient(loss, mha.trainable_weights)
    assert len(grads) == 8
    for w, g in zip(mha.trainable_weights, grads):
        assert g is not None and np.abs(np.asarray(g)).max() > 0, w.path


def test_config_round_trip():
    mha = layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, dropout=0.25, use_bias=False,
                                    output_shape=(2, 3), attention_axes=1, sliding_window=2, use_gate=True, seed=7,
                                    kernel_regularizer="l2", name="mha_cfg")
    config = mha.get_config()
    assert config["output_shape"] == (2, 3) and config["attention_axes"] == (1,)
    assert layers.MultiHeadAttention.from_config(config).get_config() == config
    assert mha.num_heads == 3 and mha.key_dim == 2 and mha.value_dim == 4 and mha.dropout == 0.25


def test_initial_kernels_follow_glorot_over_the_einsum_axes():
    mha = layers.MultiHeadAttention(num_heads=4, key_dim=16)
    mha(_data(1, 2, 64), _data(1, 2, 32))
    weights = mha.get_weights()
    # Glorot with fans from the projection's input and output axes (as Keras 3.15's EinsumDense):
    # std = sqrt(2 / (fan_in + fan_out)); the biases start at zero
    for w, fans in zip(weights[::2], [(64, 64), (32, 64), (32, 64), (64, 64)]):
        np.testing.assert_allclose(w.std(), np.sqrt(2.0 / sum(fans)), rtol=0.1)
    assert all(np.all(b == 0) for b in weights[1::2])
    assert not np.allclose(weights[2], weights[4])  # each projection draws its own values


def test_regularizers_apply_to_every_projection():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=2, kernel_regularizer="l2", activity_regularizer="l1")
    mha(_data(2, 3, 4), _data(2, 5, 4))
    assert len(mha.losses) == 8  # 4 activity penalties (one per projection) + 4 kernel penalties
    assert all(float(np.asarray(loss)) > 0 for loss in mha.losses)


# ---- forward values against NumPy ----------------------------------------------------------------


def test_matches_numpy_reference():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v = _data(2, 4, 5), _data(2, 3, 6)
    mha(q, v)
    _randomize(mha)
    out, scores = mha(q, v, return_attention_scores=True)
    want, want_scores = _numpy_mha(q.astype(np.float64), v.astype(np.float64), mha.get_weights(), 3)
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(scores), want_scores, rtol=1e-5, atol=1e-6)


def test_separate_key_matches_numpy_reference():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    q, v, k = _data(2, 3, 4), _data(2, 5, 4), _data(2, 5, 3)
    mha(q, v, key=k)
    _randomize(mha)
    want, _ = _numpy_mha(q.astype(np.float64), v.astype(np.float64), mha.get_weights(), 2, key=k.astype(np.float64))
    np.testing.assert_allclose(np.asarray(mha(q, v, key=k)), want, rtol=1e-5, atol=1e-5)


def test_causal_mask_matches_numpy_and_ignores_the_future():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = _data(2, 4, 5)
    mha(x, x)
    _randomize(mha)
    out, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    causal = np.tril(np.ones((4, 4), bool))[None]
    want, _ = _numpy_mha(x.astype(np.float64), x.astype(np.float64), mha.get_weights(), 3, mask=causal)
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(scores)[:, :, ~causal[0]] == 0)
    later = x.copy()
    later[:, 2:] = _data(2, 2, 5)  # changing steps 2, 3 leaves the outputs at steps 0, 1
    np.testing.assert_allclose(np.asarray(mha(later, later, use_causal_mask=True))[:, :2], np.asarray(out)[:, :2],
                               rtol=1e-6)


def test_padding_masks_and_attention_mask_combine():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v = _data(2, 4, 5), _data(2, 3, 6)
    mha(q, v)
    _randomize(mha)
    q_mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    v_mask = np.array([[1, 1, 0], [1, 0, 1]], bool)
    att = RNG.random((2, 4, 3)) > 0.3
    qt, vt = lk.ops.convert_to_tensor(q), lk.ops.convert_to_tensor(v)
    qt._keras_mask = lk.ops.convert_to_tensor(q_mask)  # masks carried by the inputs, as after Embedding
    vt._keras_mask = lk.ops.convert_to_tensor(v_mask)
    out, scores = mha(qt, vt, attention_mask=att, return_attention_scores=True)
    full = att & q_mask[:, :, None] & v_mask[:, None, :]
    want, want_scores = _numpy_mha(q.astype(np.float64), v.astype(np.float64), mha.get_weights(), 3, mask=full)
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(scores), want_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), q_mask)  # the query mask flows on
    # explicit masks give the same result as carried ones
    again = mha(q, v, query_mask=q_mask, value_mask=v_mask, attention_mask=att)
    np.testing.assert_allclose(np.asarray(again), np.asarray(out), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(again._keras_mask), q_mask)


def test_fully_masked_rows_give_zero_scores():
    mha = layers.MultiHeadAttention(num_heads=1, key_dim=2)
    q, v = _data(1, 2, 3), _data(1, 3, 3)
    att = np.array([[[True, False, True], [False, False, False]]])
    _, scores = mha(q, v, attention_mask=att, return_attention_scores=True)
    scores = np.asarray(scores)
    np.testing.assert_allclose(scores[0, 0, 0].sum(), 1.0, rtol=1e-6)
    assert scores[0, 0, 0, 1] == 0 and np.all(scores[0, 0, 1] == 0)


def test_sliding_window_is_a_band():
    mha = layers.MultiHeadAttention(num_heads=1, key_dim=2, sliding_window=2)
    x = _data(1, 4, 3)
    _, scores = mha(x, x, return_attention_scores=True)
    band = np.abs(np.arange(4)[:, None] - np.arange(4)[None]) < 2
    scores = np.asarray(scores)[0, 0]
    assert np.all(scores[~band] == 0) and np.all(scores[band] > 0)


def test_dropout_only_in_training_and_seeded():
    q, v = _data(2, 4, 5), _data(2, 6, 5)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3)
    b = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3)
    a(q, v)
    b(q, v)
    b.set_weights(a.get_weights())
    infer, scores = a(q, v, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(scores).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(a(q, v, training=False)), np.asarray(infer))
    train_a, train_scores = a(q, v, training=True, return_attention_scores=True)
    assert not np.allclose(np.asarray(train_a), np.asarray(infer))
    np.testing.assert_allclose(np.asarray(train_scores), np.asarray(scores), rtol=1e-6)  # scores before dropout
    np.testing.assert_allclose(np.asarray(b(q, v, training=True)), np.asarray(train_a), rtol=1e-6)


def test_attention_axes_on_rank_4_inputs():
    x = _data(2, 3, 4, 5)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=2)
    out, scores = mha(x, x, return_attention_scores=True)
    assert out.shape == (2, 3, 4, 5) and scores.shape == (2, 3, 2, 4, 4)
    assert mha.get_config()["attention_axes"] == (2,)
    # attending over axis 2 only: each slice along axis 1 is an independent sequence
    other = x.copy()
    other[:, 0] = _data(2, 4, 5)
    changed = np.asarray(mha(other, other))
    np.testing.assert_allclose(changed[:, 1:], np.asarray(out)[:, 1:], rtol=1e-6)
    assert not np.allclose(changed[:, 0], np.asarray(out)[:, 0])
    joint = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    _, joint_scores = joint(x, x, return_attention_scores=True)
    assert joint_scores.shape == (2, 2, 3, 4, 3, 4)
    np.testing.assert_allclose(np.asarray(joint_scores).sum(axis=(-2, -1)), 1.0, rtol=1e-5)


def test_symbolic_unknown_sequence_length():
    q_in = lk.layers.Input((None, 4))  # a Functional model's shape pass: batch and length unknown
    out = layers.MultiHeadAttention(num_heads=2, key_dim=2)(q_in, q_in, use_causal_mask=True)
    assert out.shape == (None, None, 4)


# ---- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"num_heads": 0, "key_dim": 2}, "num_heads"),
    ({"num_heads": 2, "key_dim": 2.5}, "key_dim"),
    ({"num_heads": 2, "key_dim": 2, "value_dim": -1}, "value_dim"),
    ({"num_heads": 2, "key_dim": 2, "dropout": 1.0}, "dropout"),
    ({"num_heads": 2, "key_dim": 2, "output_shape": "wide"}, "output_shape"),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": "last"}, "attention_axes"),
    ({"num_heads": 2, "key_dim": 2, "sliding_window": 0}, "sliding_window"),
    ({"num_heads": 2, "key_dim": 2, "seed": "s"}, "seed"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.MultiHeadAttention(**kwargs)


def test_bad_input_shapes():
    with pytest.raises(ValueError, match="rank >= 3"):
        layers.MultiHeadAttention(2, 2, name="flat")(_data(2, 5), _data(2, 5))
    with pytest.raises(ValueError, match="equal in every axis but the last"):
        layers.MultiHeadAttention(2, 2)(_data(2, 3, 4), _data(2, 5, 4), key=_data(2, 6, 4))
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 2, attention_axes=(3,))(_data(2, 3, 4, 5), _data(2, 3, 4, 5))
    mha = layers.MultiHeadAttention(2, 2)
    mha(_data(2, 3, 4), _data(2, 5, 4))
    with pytest.raises(ValueError, match="was built for a `query` of rank 3 with 4 features"):
        mha(_data(2, 3, 6), _data(2, 5, 4))


# ---- Keras parity ----------------------------------------------------------------------------------


def _keras_pair(keras, kwargs, q, v, k=None):
    ours = layers.MultiHeadAttention(**kwargs)
    theirs = keras.layers.MultiHeadAttention(**kwargs)
    ours(q, v, key=k)
    theirs(q, v, key=k, return_attention_scores=True)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path.split("/", 1)[1] for w in theirs.weights] == [w.path for w in ours.weights]
    return ours, theirs


def _assert_close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, with_key", [
    ({"num_heads": 2, "key_dim": 3}, False),
    ({"num_heads": 2, "key_dim": 2, "value_dim": 3, "output_shape": (2, 3), "use_bias": False}, True),
    ({"num_heads": 3, "key_dim": 2, "use_gate": True}, False),
])
def test_matches_keras_both_directions(kwargs, with_key):
    keras = pytest.importorskip("keras")
    q, v = _data(2, 4, 5), _data(2, 3, 6)
    k = _data(2, 3, 7) if with_key else None
    ours, theirs = _keras_pair(keras, kwargs, q, v, k)
    ours.set_weights(theirs.get_weights())  # Keras -> layerkit
    out, scores = ours(q, v, key=k, return_attention_scores=True)
    k_out, k_scores = theirs(q, v, key=k, return_attention_scores=True)
    _assert_close(out, k_out)
    _assert_close(scores, k_scores)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())  # layerkit -> Keras
    _assert_close(ours(q, v, key=k, return_attention_scores=True)[0],
                  theirs(q, v, key=k, return_attention_scores=True)[0])
    assert list(ours.get_config()) == list(theirs.get_config())


def test_matches_keras_with_masks():
    keras = pytest.importorskip("keras")
    q, v = _data(2, 4, 5), _data(2, 3, 5)
    q[0, 3] = 0  # padded query steps, found by Keras's Masking layer
    q[1, 2:] = 0
    v_mask = np.array([[1, 1, 0], [1, 0, 1]], bool)
    att = RNG.random((2, 4, 3)) > 0.3
    ours, theirs = _keras_pair(keras, {"num_heads": 2, "key_dim": 3}, q, v)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    q_in, v_in = keras.Input((4, 5)), keras.Input((3, 5))
    k_model = keras.Model([q_in, v_in], theirs(keras.layers.Masking()(q_in), v_in, value_mask=v_mask,
                                               attention_mask=att, return_attention_scores=True))
    q_mask = np.any(q != 0, axis=-1)
    for causal in (False, True):
        k_out, k_scores = k_model([q, v]) if not causal else keras.Model(
            [q_in, v_in], theirs(keras.layers.Masking()(q_in), v_in, value_mask=v_mask, attention_mask=att,
                                 use_causal_mask=True, return_attention_scores=True))([q, v])
        out, scores = ours(q, v, query_mask=q_mask, value_mask=v_mask, attention_mask=att, use_causal_mask=causal,
                           return_attention_scores=True)
        _assert_close(out, k_out)
        _assert_close(scores, k_scores)


def test_matches_keras_causal_without_scores():
    keras = pytest.importorskip("keras")
    x = _data(2, 4, 6)
    ours, theirs = _keras_pair(keras, {"num_heads": 2, "key_dim": 3}, x, x)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    _assert_close(ours(x, x, use_causal_mask=True), theirs(x, x, use_causal_mask=True))
    _assert_close(ours(x, x), theirs(x, x))


def test_matches_keras_with_masks_from_an_embedding():
    keras = pytest.importorskip("keras")
    ids = np.array([[3, 4, 1, 0, 0], [2, 9, 9, 9, 0]], "int32")
    inp = lk.layers.Input((5,), dtype="int32")
    x = lk.layers.Embedding(10, 6, mask_zero=True)(inp)
    model = lk.models.Model(inp, layers.MultiHeadAttention(2, 3)(x, x, use_causal_mask=True))
    k_in = keras.Input((5,), dtype="int32")
    k_x = keras.layers.Embedding(10, 6, mask_zero=True)(k_in)
    k_model = keras.Model(k_in, keras.layers.MultiHeadAttention(2, 3)(k_x, k_x, use_causal_mask=True))
    k_model.set_weights(model.get_weights())
    out = model(ids)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), ids != 0)
    # compared where the query is not padding: at padded query steps every key is masked, and
    # Keras's fused (no-scores) JAX path then averages uniformly where its Softmax path, which
    # layerkit follows, gives zero attention
    keep = ids != 0
    _assert_close(np.asarray(out)[keep], np.asarray(k_model(ids))[keep])


@pytest.mark.parametrize("axes", [None, 2, (1, 2)])
def test_matches_keras_attention_axes(axes):
    keras = pytest.importorskip("keras")
    x = _data(2, 3, 4, 5)
    ours, theirs = _keras_pair(keras, {"num_heads": 2, "key_dim": 3, "attention_axes": axes}, x, x)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    out, scores = ours(x, x, return_attention_scores=True)
    k_out, k_scores = theirs(x, x, return_attention_scores=True)
    _assert_close(out, k_out)
    _assert_close(scores, k_scores)
    assert ours.get_config()["attention_axes"] == theirs.get_config()["attention_axes"]


def test_a_traced_training_call_drops_attention_weights_as_eager_code_does():
    mha = lk.layers.MultiHeadAttention(2, 4, dropout=0.5, seed=1)
    attention = lk.layers.Attention(dropout=0.5, seed=1)
    q = np.random.default_rng(0).standard_normal((2, 5, 8)).astype("float32")
    mha(q, q)
    for layer, call in ((mha, lambda t: mha(t, t, training=True)), (attention, lambda t: attention([t, t], training=True))):
        f = lk.function(call)
        assert "random" in f.get_graph(q).kernel_counts()  # the dropout is in the graph
        assert not np.allclose(np.asarray(f(q)), np.asarray(f(q)))  # a new mask per run
        inference = lk.function(lambda t, layer=layer: (layer(t, t) if layer is mha else layer([t, t])))
        assert "random" not in inference.get_graph(q).kernel_counts()


@pytest.mark.parametrize("shape,axes", [((2, 5, 8), None), ((2, 3, 4, 8), None), ((2, 3, 4, 8), (2,)),
                                        ((2, 3, 4, 8), (-2,))])
def test_the_symbolic_scores_shape_matches_the_eager_scores(shape, axes):
    q = np.random.default_rng(0).standard_normal(shape).astype("float32")
    _, scores = lk.layers.MultiHeadAttention(2, 4, attention_axes=axes)(q, q, return_attention_scores=True)
    symbolic = lk.SymbolicTensor((None,) + shape[1:], "float32")
    _, spec = lk.layers.MultiHeadAttention(2, 4, attention_axes=axes)(symbolic, symbolic, return_attention_scores=True)
    assert spec.shape == (None,) + tuple(scores.shape)[1:]
