"""Attention: conformance, a NumPy reference, masks, dropout, errors, and Keras parity."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import layers
from layerkit.testing import run_layer_test

# Keras's own get_weights() triggers a NumPy 2 deprecation warning inside Keras
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

RNG = np.random.default_rng(1)


def _data(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _numpy_attention(query, value, key=None, score_mode="dot", scale=None, concat_weight=1.0, q_mask=None,
                     v_mask=None, causal=False):
    """Luong attention from its definition; masked scores are lowered by 1e9 (Keras's formula)."""
    key = value if key is None else key
    if score_mode == "dot":
        scores = query @ np.swapaxes(key, -1, -2) * (1.0 if scale is None else scale)
    else:
        pairs = query[:, :, None] + key[:, None]
        scores = concat_weight * np.tanh(pairs * (1.0 if scale is None else scale)).sum(-1)
    mask = np.ones(scores.shape, bool)
    if v_mask is not None:
        mask &= v_mask[:, None, :]
    if causal:
        mask &= np.tril(np.ones(scores.shape[-2:], bool))
    scores = np.where(mask, scores, scores - 1e9)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    out = probs @ value
    if q_mask is not None:
        out = np.where(q_mask[..., None], out, 0.0)
    return out, probs


def _close(a, b, rtol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-6)


# ---- conformance -------------------------------------------------------------------------------


def test_run_layer_test_dot():
    run_layer_test(layers.Attention, input_shape=[(2, 3, 4), (2, 5, 4)], expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_run_layer_test_scaled_concat_with_key_and_scores():
    layer = run_layer_test(layers.Attention, init_kwargs={"use_scale": True, "score_mode": "concat"},
                           input_shape=[(2, 3, 4), (2, 5, 6), (2, 5, 4)],
                           call_kwargs={"return_attention_scores": True, "use_causal_mask": True},
                           expected_output_shape=[(2, 3, 6), (2, 3, 5)], expected_num_trainable_weights=2)
    assert [(w.name, w.shape) for w in layer.weights] == [("scale", ()), ("concat_score_weight", ())]


def test_functional_model_and_output_mask():
    q_in, v_in = lk.layers.Input((3, 4)), lk.layers.Input((5, 4))
    layer = layers.Attention(use_scale=True)
    out = layer([q_in, v_in])
    assert out.shape == (None, 3, 4)
    model = lk.models.Model([q_in, v_in], out)
    q, v = _data(2, 3, 4), _data(2, 5, 4)
    _close(model([q, v]), layer([q, v]))
    q_mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    out = layer([q, v], mask=[q_mask, None])
    np.testing.assert_array_equal(np.asarray(out._keras_mask), q_mask)
    assert layer.compute_output_shape([(None, 3, 4), (None, 5, 7)]) == (None, 3, 7)
    spec, scores_spec = layer.compute_output_spec([q_in, v_in], return_attention_scores=True)
    assert spec.shape == (None, 3, 4) and scores_spec.shape == (None, 3, 5)


# ---- forward values against NumPy ----------------------------------------------------------------


@pytest.mark.parametrize("score_mode", ["dot", "concat"])
def test_matches_numpy_reference(score_mode):
    layer = layers.Attention(use_scale=True, score_mode=score_mode)
    q, v, k = _data(2, 3, 4), _data(2, 5, 6), _data(2, 5, 4)
    layer([q, v, k])
    layer.set_weights([np.float32(0.7)] + ([np.float32(1.3)] if score_mode == "concat" else []))
    out, probs = layer([q, v, k], return_attention_scores=True)
    want, want_probs = _numpy_attention(q, v, k, score_mode, scale=0.7, concat_weight=1.3)
    _close(out, want)
    _close(probs, want_probs)


def test_masks_and_causal_match_numpy():
    layer = layers.Attention()
    q, v = _data(2, 4, 3), _data(2, 4, 3)
    q_mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    v_mask = np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool)
    for causal in (False, True):
        out, probs = layer([q, v], mask=[q_mask, v_mask], use_causal_mask=causal, return_attention_scores=True)
        want, want_probs = _numpy_attention(q, v, q_mask=q_mask, v_mask=v_mask, causal=causal)
        _close(out, want)
        _close(probs, want_probs)
        assert np.all(np.asarray(out)[~q_mask] == 0)
        assert np.asarray(probs)[~np.broadcast_to(v_mask[:, None], (2, 4, 4))].max() < 1e-6
    # masks carried by the inputs are used when `mask` is not given
    qt, vt = lk.ops.convert_to_tensor(q), lk.ops.convert_to_tensor(v)
    qt._keras_mask, vt._keras_mask = lk.ops.convert_to_tensor(q_mask), lk.ops.convert_to_tensor(v_mask)
    _close(layer([qt, vt]), _numpy_attention(q, v, q_mask=q_mask, v_mask=v_mask)[0])


def test_dropout_only_in_training():
    q, v = _data(2, 3, 4), _data(2, 8, 4)
    layer = layers.Attention(dropout=0.5, seed=2)
    infer = layer([q, v])
    _close(layer([q, v], training=False), infer)
    train, probs = layer([q, v], training=True, return_attention_scores=True)
    assert not np.allclose(np.asarray(train), np.asarray(infer))
    _close(np.asarray(probs).sum(-1), 1.0)  # returned before dropout
    again = layers.Attention(dropout=0.5, seed=2)([q, v], training=True)
    _close(again, train)


# ---- errors ----------------------------------------------------------------------------------------


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="dropout"):
        layers.Attention(dropout=-0.1)
    with pytest.raises(ValueError, match="must be called on a list"):
        layers.Attention()(_data(2, 3, 4))
    with pytest.raises(ValueError, match="a list of length 4"):
        layers.Attention()([_data(2, 3, 4)] * 4)
    with pytest.raises(ValueError, match="feature size"):
        layers.Attention(name="att")([_data(2, 3, 4), _data(2, 5, 6)])
    with pytest.raises(ValueError, match="mask"):
        layers.Attention()([_data(2, 3, 4), _data(2, 5, 4)], mask=np.ones((2, 3), bool))


# ---- Keras parity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"use_scale": True}, {"use_scale": True, "score_mode": "concat"},
                                    {"score_mode": "concat", "dropout": 0.2, "seed": 3}])
def test_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    q, v, k = _data(2, 3, 4), _data(2, 5, 6), _data(2, 5, 4)
    q_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    ours, theirs = layers.Attention(**kwargs), keras.layers.Attention(**kwargs)
    ours([q, v, k])
    theirs([q, v, k])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    assert list(ours.get_config()) == list(theirs.get_config())
    if ours.weights:
        theirs.set_weights([np.float32(0.5 + i) for i in range(len(ours.weights))])
        ours.set_weights(theirs.get_weights())
    for call in ({}, {"mask": [q_mask, v_mask]}, {"use_causal_mask": True}, {"mask": [None, v_mask],
                                                                              "use_causal_mask": True}):
        out, probs = ours([q, v, k], return_attention_scores=True, **call)
        k_out, k_probs = theirs([q, v, k], return_attention_scores=True, **call)
        _close(out, k_out)
        _close(probs, k_probs)
