import numpy as np
import pytest
from rnn_reference import gru_step, run_sequence, sigmoid, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


def _randomized(layer, x, scale=0.5):
    layer(x)
    layer.set_weights([RNG.standard_normal(w.shape) * scale for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("reset_after", [True, False])
def test_run_layer_test(reset_after):
    run_layer_test(lk.layers.GRU, init_kwargs={"units": 3, "reset_after": reset_after}, input_shape=(2, 4, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=3, supports_masking=True)


def test_run_layer_test_sequences_state_and_mask():
    run_layer_test(lk.layers.GRU, init_kwargs={"units": 2, "return_sequences": True, "return_state": True,
                                               "go_backwards": True, "recurrent_regularizer": "l2"},
                   input_shape=(2, 4, 3), call_kwargs={"mask": lk.ops.convert_to_tensor(MASK[:2, :4])},
                   expected_output_shape=[(2, 4, 2), (2, 2)], expected_num_trainable_weights=3,
                   expected_num_losses=1)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy(reset_after, go_backwards, masked):
    layer = _randomized(lk.layers.GRU(3, reset_after=reset_after, return_sequences=True, return_state=True,
                                      go_backwards=go_backwards), X)
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    mask = MASK if masked else None
    seq, h = layer(X, initial_state=[h0], mask=mask)
    k, rk, b = weights_of(layer)
    ref_seq, _, (ref_h,) = run_sequence(lambda x, s: gru_step(x, s, k, rk, b, reset_after=reset_after),
                                        X.astype(np.float64), [h0], mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(np.asarray(seq), ref_seq, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-5)


def test_no_bias_and_a_single_initial_state_tensor():
    layer = _randomized(lk.layers.GRU(3, use_bias=False), X)
    assert len(layer.weights) == 2
    h0 = np.full((3, 3), 0.3, "float32")
    k, rk = weights_of(layer)
    _, last, _ = run_sequence(lambda x, s: gru_step(x, s, k, rk, None), X.astype(np.float64), [h0])
    np.testing.assert_allclose(np.asarray(layer(X, initial_state=h0)), last, rtol=1e-5, atol=1e-5)


def test_weights_layout():
    for reset_after, bias_shape in ((True, (2, 9)), (False, (9,))):
        layer = lk.layers.GRU(3, reset_after=reset_after)
        layer(X)
        assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
        assert [tuple(w.shape) for w in layer.weights] == [(4, 9), (3, 9), bias_shape]
        assert layer.cell.name == "gru_cell" and layer.reset_after is reset_after


def test_recurrent_dropout_uses_one_mask_per_gate_for_the_whole_sequence():
    layer = _randomized(lk.layers.GRU(3, dropout=0.3, recurrent_dropout=0.5, seed=2, reset_after=False), X)
    cell, kept = layer.cell, {}
    cell.reset_dropout_mask = lambda: kept.setdefault("dp", cell._dropout_mask)
    cell.reset_recurrent_dropout_mask = lambda: kept.setdefault("rdp", cell._recurrent_dropout_mask)
    out = np.asarray(layer(X, training=True))
    dp = [np.asarray(m, np.float64) for m in kept["dp"]]
    rdp = [np.asarray(m, np.float64) for m in kept["rdp"]]
    assert len(dp) == 3 and len(rdp) == 3
    k, rk, b = weights_of(layer)
    u = 3
    W = [k[:, g * u:(g + 1) * u] for g in range(3)]
    U = [rk[:, g * u:(g + 1) * u] for g in range(3)]
    bb = [b[g * u:(g + 1) * u] for g in range(3)]

    def step(x, states):
        h = states[0]
        z = sigmoid((x * dp[0]) @ W[0] + bb[0] + (h * rdp[0]) @ U[0])
        r = sigmoid((x * dp[1]) @ W[1] + bb[1] + (h * rdp[1]) @ U[1])
        hh = np.tanh((x * dp[2]) @ W[2] + bb[2] + (r * (h * rdp[2])) @ U[2])
        h = z * h + (1 - z) * hh
        return h, [h]
    _, last, _ = run_sequence(step, X.astype(np.float64), [np.zeros((3, u))])
    np.testing.assert_allclose(out, last, rtol=1e-5, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="`units` must be a positive int"):
        lk.layers.GRU(-1)
    with pytest.raises(ValueError, match="`dropout` must be a float in"):
        lk.layers.GRU(2, dropout=1.0)
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        lk.layers.GRU(2, stateful=True)
    layer = lk.layers.GRU(2, name="g")
    with pytest.raises(ValueError, match=r"GRU 'g' expects an input of rank 3"):
        layer(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"expects 1 initial state tensor\(s\)"):
        layer(X, initial_state=[np.zeros((3, 2), "float32")] * 2)


# ---- Keras 3 reference --------------------------------------------------------------------------


def test_config_keys_and_weights_match_keras():
    keras = pytest.importorskip("keras")
    for kwargs in ({}, {"reset_after": False, "activity_regularizer": "l2"}):
        ours, theirs = lk.layers.GRU(3, **kwargs), keras.layers.GRU(3, **kwargs)
        assert list(ours.get_config()) == list(theirs.get_config())
        ours(X), theirs(X)
        assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
        assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]


@pytest.mark.parametrize("kwargs", [
    {"reset_after": True, "return_sequences": True, "return_state": True},
    {"reset_after": False, "return_sequences": True, "go_backwards": True},
    {"reset_after": False, "return_state": True, "use_bias": False},
])
def test_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours = _randomized(lk.layers.GRU(3, **kwargs), X)
    theirs = keras.layers.GRU(3, **kwargs)
    theirs(X)
    theirs.set_weights(ours.get_weights())
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    for call in ({}, {"mask": MASK, "initial_state": [h0]}):
        for a, b in zip(lk.utils.tree.flatten(ours(X, **call)), lk.utils.tree.flatten(theirs(X, **call))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
