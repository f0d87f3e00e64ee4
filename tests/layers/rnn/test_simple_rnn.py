import numpy as np
import pytest
from rnn_reference import run_sequence, simple_rnn_step, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], bool)


def _randomized(layer, x, scale=0.5):
    layer(x)
    layer.set_weights([RNG.standard_normal(w.shape) * scale for w in layer.get_weights()])
    return layer


def test_run_layer_test():
    run_layer_test(lk.layers.SimpleRNN, init_kwargs={"units": 3}, input_shape=(2, 4, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=3, supports_masking=True)
    run_layer_test(lk.layers.SimpleRNN, init_kwargs={"units": 2, "return_sequences": True, "return_state": True,
                                                     "activation": "relu", "dropout": 0.2, "recurrent_dropout": 0.2},
                   input_shape=(2, 3, 3), expected_output_shape=[(2, 3, 2), (2, 2)], expected_num_trainable_weights=3)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy(return_sequences, go_backwards, masked):
    layer = _randomized(lk.layers.SimpleRNN(3, return_sequences=return_sequences, return_state=True,
                                            go_backwards=go_backwards), X)
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    mask = MASK if masked else None
    out, h = layer(X, initial_state=[h0], mask=mask)
    k, rk, b = weights_of(layer)
    seq, last, (ref_h,) = run_sequence(lambda x, s: simple_rnn_step(x, s, k, rk, b), X.astype(np.float64), [h0],
                                       mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(np.asarray(out), seq if return_sequences else last, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-5)


def test_dropout_masks_are_sampled_once_per_sequence():
    layer = _randomized(lk.layers.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5, seed=4, return_sequences=True), X)
    cell, kept = layer.cell, {}
    cell.reset_dropout_mask = lambda: kept.setdefault("dp", cell._dropout_mask)
    cell.reset_recurrent_dropout_mask = lambda: kept.setdefault("rdp", cell._recurrent_dropout_mask)
    out = np.asarray(layer(X, training=True))
    dp, rdp = np.asarray(kept["dp"], np.float64), np.asarray(kept["rdp"], np.float64)
    assert dp.shape == (3, 4) and rdp.shape == (3, 3) and (dp == 0).any() and (rdp == 0).any()
    assert set(np.unique(dp)) <= {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - rate)
    k, rk, b = weights_of(layer)
    seq, _, _ = run_sequence(lambda x, s: simple_rnn_step(x * dp, [s[0] * rdp], k, rk, b), X.astype(np.float64),
                             [np.zeros((3, 3))])
    np.testing.assert_allclose(out, seq, rtol=1e-5, atol=1e-5)


def test_weights_and_properties():
    layer = lk.layers.SimpleRNN(3, use_bias=False, name="s")
    layer(X)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel"]
    assert layer.units == 3 and layer.use_bias is False and layer.cell.name == "simple_rnn_cell"
    rk = np.asarray(layer.cell.recurrent_kernel)
    np.testing.assert_allclose(rk @ rk.T, np.eye(3), atol=1e-5)  # orthogonal by default
    layer.trainable = False
    assert layer.trainable_weights == [] and not layer.cell.trainable


def test_errors():
    with pytest.raises(ValueError, match=r"SimpleRNNCell 'simple_rnn_cell': `units` must be a positive int"):
        lk.layers.SimpleRNN(2.5)
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        lk.layers.SimpleRNN(2, stateful=True)
    with pytest.raises(ValueError, match=r"SimpleRNN 'r' expects an input of rank 3"):
        lk.layers.SimpleRNN(2, name="r")(np.zeros((4,), "float32"))


# ---- Keras 3 reference --------------------------------------------------------------------------


def test_config_keys_and_weights_match_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = lk.layers.SimpleRNN(3), keras.layers.SimpleRNN(3)
    assert list(ours.get_config()) == list(theirs.get_config())  # Keras's SimpleRNN config has no `seed`
    ours(X), theirs(X)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]


@pytest.mark.parametrize("kwargs", [
    {"return_sequences": True, "return_state": True},
    {"return_sequences": True, "go_backwards": True, "activation": "relu"},
])
def test_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours = _randomized(lk.layers.SimpleRNN(3, **kwargs), X)
    theirs = keras.layers.SimpleRNN(3, **kwargs)
    theirs(X)
    theirs.set_weights(ours.get_weights())
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    for call in ({}, {"mask": MASK, "initial_state": [h0]}):
        for a, b in zip(lk.utils.tree.flatten(ours(X, **call)), lk.utils.tree.flatten(theirs(X, **call))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
