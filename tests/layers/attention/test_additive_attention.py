"""AdditiveAttention: conformance, a NumPy reference, masks, errors, and Keras parity."""
import numpy as np
import pytest

from layerkit import layers
from layerkit.testing import run_layer_test

# Keras's own get_weights() triggers a NumPy 2 deprecation warning inside Keras
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

RNG = np.random.default_rng(2)


def _data(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _numpy_additive(query, value, key=None, scale=None, v_mask=None, q_mask=None, causal=False):
    """Bahdanau attention from its definition: scores = sum(scale * tanh(q_i + k_j))."""
    key = value if key is None else key
    terms = np.tanh(query[:, :, None, :] + key[:, None, :, :])
    scores = (terms * (1.0 if scale is None else scale)).sum(-1)
    mask = np.ones(scores.shape, bool)
    if v_mask is not None:
        mask &= v_mask[:, None, :]
    if causal:
        mask &= np.tril(np.ones(scores.shape[-2:], bool))
    scores = np.where(mask, scores, scores - 1e9)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    out = probs @ value
    return (out if q_mask is None else np.where(q_mask[..., None], out, 0.0)), probs


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_run_layer_test():
    layer = run_layer_test(layers.AdditiveAttention, input_shape=[(2, 3, 4), (2, 5, 4)],
                           expected_output_shape=(2, 3, 4), expected_num_trainable_weights=1, supports_masking=True)
    assert [(w.name, w.shape) for w in layer.weights] == [("scale", (4,))]
    assert "score_mode" not in layer.get_config()


def test_run_layer_test_unscaled_with_key_and_causal_mask():
    run_layer_test(layers.AdditiveAttention, init_kwargs={"use_scale": False},
                   input_shape=[(2, 4, 3), (2, 4, 5), (2, 4, 3)], call_kwargs={"use_causal_mask": True},
                   expected_output_shape=(2, 4, 5), expected_num_trainable_weights=0)


def test_matches_numpy_reference_with_masks():
    layer = layers.AdditiveAttention()
    q, v = _data(2, 4, 3), _data(2, 4, 3)
    layer([q, v])
    scale = RNG.standard_normal(3).astype("float32")
    layer.set_weights([scale])
    q_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    for kwargs, ref in (({}, {}), ({"mask": [q_mask, v_mask]}, {"q_mask": q_mask, "v_mask": v_mask}),
                        ({"use_causal_mask": True}, {"causal": True})):
        out, probs = layer([q, v], return_attention_scores=True, **kwargs)
        want, want_probs = _numpy_additive(q, v, scale=scale, **ref)
        _close(out, want)
        _close(probs, want_probs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="must be called on a list"):
        layers.AdditiveAttention()(_data(2, 3, 4))
    with pytest.raises(ValueError, match="feature size"):
        layers.AdditiveAttention()([_data(2, 3, 4), _data(2, 5, 3)])
    with pytest.raises(ValueError, match="dropout"):
        layers.AdditiveAttention(dropout=2.0)


@pytest.mark.parametrize("kwargs", [{}, {"use_scale": False}])
def test_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    q, v, k = _data(2, 3, 4), _data(2, 5, 6), _data(2, 5, 4)
    v_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    ours, theirs = layers.AdditiveAttention(**kwargs), keras.layers.AdditiveAttention(**kwargs)
    ours([q, v, k])
    theirs([q, v, k])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    assert list(ours.get_config()) == list(theirs.get_config())
    ours.set_weights(theirs.get_weights())
    for call in ({}, {"mask": [None, v_mask], "use_causal_mask": True}):
        out, probs = ours([q, v, k], return_attention_scores=True, **call)
        k_out, k_probs = theirs([q, v, k], return_attention_scores=True, **call)
        _close(out, k_out)
        _close(probs, k_probs)
    if ours.weights:
        ours.set_weights([RNG.standard_normal(4).astype("float32")])
        theirs.set_weights(ours.get_weights())
        _close(ours([q, v, k]), theirs([q, v, k]))
