import numpy as np
import pytest
from rnn_reference import lstm_gates, lstm_step, run_sequence, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
# right-padded, left-padded and fully kept rows; the mask is (batch, time)
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


def _randomized(layer, x, scale=0.5):
    """Builds `layer` on `x` and gives it random weights (a non-zero bias tests the bias path)."""
    layer(x)
    layer.set_weights([RNG.standard_normal(w.shape) * scale for w in layer.get_weights()])
    return layer


def test_run_layer_test():
    run_layer_test(lk.layers.LSTM, init_kwargs={"units": 3}, input_shape=(2, 4, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=3, expected_num_non_trainable_weights=0, supports_masking=True)
    run_layer_test(lk.layers.LSTM, init_kwargs={"units": 2, "return_sequences": True, "return_state": True,
                                                "go_backwards": True},
                   input_shape=(2, 3, 3), expected_output_shape=[(2, 3, 2), (2, 2), (2, 2)],
                   expected_num_trainable_weights=3)


def test_run_layer_test_with_mask_and_regularizers():
    mask = lk.ops.convert_to_tensor(MASK[:2, :4])
    run_layer_test(lk.layers.LSTM, init_kwargs={"units": 2, "return_sequences": True, "kernel_regularizer": "l2",
                                                "activity_regularizer": "l1", "use_bias": False},
                   input_shape=(2, 4, 3), call_kwargs={"mask": mask}, expected_output_shape=(2, 4, 2),
                   expected_num_trainable_weights=2, expected_num_losses=2)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy(return_sequences, go_backwards, masked):
    layer = _randomized(lk.layers.LSTM(3, return_sequences=return_sequences, return_state=True,
                                       go_backwards=go_backwards), X)
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    c0 = RNG.standard_normal((3, 3)).astype("float32")
    mask = MASK if masked else None
    out, h, c = layer(X, initial_state=[h0, c0], mask=mask)
    k, rk, b = weights_of(layer)
    seq, last, (rh, rc) = run_sequence(lambda x, s: lstm_step(x, s, k, rk, b), X.astype(np.float64), [h0, c0],
                                       mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(np.asarray(out), seq if return_sequences else last, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), rh, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c), rc, rtol=1e-5, atol=1e-5)


def test_weights_layout_and_unit_forget_bias():
    layer = lk.layers.LSTM(3, bias_initializer="ones")
    layer(X)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [tuple(w.shape) for w in layer.weights] == [(4, 12), (3, 12), (12,)]
    assert layer.cell.name == "lstm_cell" and layer.weights[0] is layer.cell.kernel
    bias = lk.layers.LSTM(2)
    bias(X)
    np.testing.assert_array_equal(np.asarray(bias.cell.bias), [0, 0, 1, 1, 0, 0, 0, 0])  # i, f (ones), c, o
    plain = lk.layers.LSTM(2, unit_forget_bias=False, bias_initializer="ones")
    plain(X)
    np.testing.assert_array_equal(np.asarray(plain.cell.bias), np.ones(8))


def test_unknown_time_axis_in_functional_model():
    inputs = lk.layers.Input(shape=(None, 4))
    seq, h, c = lk.layers.LSTM(3, return_sequences=True, return_state=True)(inputs)
    assert seq.shape == (None, None, 3) and h.shape == (None, 3) and c.shape == (None, 3)
    model = lk.models.Model(inputs, [seq, h])
    for steps in (2, 6):
        out, last = model(RNG.standard_normal((2, steps, 4)).astype("float32"))
        assert out.shape == (2, steps, 3)
        np.testing.assert_allclose(np.asarray(out)[:, -1], np.asarray(last), rtol=1e-6)
    with pytest.raises(ValueError, match="cannot unroll"):
        lk.layers.LSTM(3, unroll=True)(lk.layers.Input(shape=(None, 4)))


def test_symbolic_initial_state_in_functional_model():
    inputs, h0, c0 = lk.layers.Input(shape=(5, 4)), lk.layers.Input(shape=(3,)), lk.layers.Input(shape=(3,))
    layer = lk.layers.LSTM(3)
    model = lk.models.Model([inputs, h0, c0], layer(inputs, initial_state=[h0, c0]))
    hv, cv = np.ones((3, 3), "float32"), np.full((3, 3), 0.5, "float32")
    np.testing.assert_allclose(np.asarray(model([X, hv, cv])), np.asarray(layer(X, initial_state=[hv, cv])),
                               rtol=1e-6)


def test_dropout_masks_are_sampled_once_per_sequence():
    layer = _randomized(lk.layers.LSTM(3, dropout=0.5, recurrent_dropout=0.4, seed=1, return_sequences=True), X)
    cell = layer.cell
    kept = {}
    cell.reset_dropout_mask = lambda: kept.setdefault("dp", cell._dropout_mask)
    cell.reset_recurrent_dropout_mask = lambda: kept.setdefault("rdp", cell._recurrent_dropout_mask)
    out = np.asarray(layer(X, training=True))
    dp = [np.asarray(m, np.float64) for m in kept["dp"]]  # recurrent_dropout: one mask per gate
    rdp = [np.asarray(m, np.float64) for m in kept["rdp"]]
    assert len(dp) == 4 and len(rdp) == 4 and any((m == 0).any() for m in dp)
    k, rk, b = weights_of(layer)
    u = 3

    def step(x, states):  # every step sees the same masks
        h, c = states
        z = np.concatenate([(x * dp[g]) @ k[:, g * u:(g + 1) * u] + (h * rdp[g]) @ rk[:, g * u:(g + 1) * u]
                            for g in range(4)], axis=-1) + b
        return lstm_gates(z, c)
    seq, _, _ = run_sequence(step, X.astype(np.float64), [np.zeros((3, u))] * 2)
    np.testing.assert_allclose(out, seq, rtol=1e-5, atol=1e-5)


def test_dropout_only_in_training_and_masks_reset():
    layer = _randomized(lk.layers.LSTM(3, dropout=0.5, seed=3), X)
    inference = np.asarray(layer(X))
    np.testing.assert_array_equal(inference, np.asarray(layer(X, training=False)))
    first, second = np.asarray(layer(X, training=True)), np.asarray(layer(X, training=True))
    assert not np.allclose(first, inference) and not np.allclose(first, second)  # a new mask per sequence
    assert layer.cell._dropout_mask is None


def test_get_config_round_trip():
    layer = lk.layers.LSTM(3, activation="relu", dropout=0.25, seed=5, return_state=True,
                           kernel_regularizer=lk.regularizers.L2(0.1))
    config = layer.get_config()
    assert "cell" not in config and config["seed"] == 5 and config["dropout"] == 0.25
    revived = lk.layers.LSTM.from_config(config)
    assert revived.get_config() == config and revived.cell.seed == 5


def test_errors():
    with pytest.raises(ValueError, match="`units` must be a positive int"):
        lk.layers.LSTM(0)
    with pytest.raises(ValueError, match="`dropout` must be a float in"):
        lk.layers.LSTM(2, dropout=1.5)
    with pytest.raises(ValueError, match="`recurrent_dropout` must be a float in"):
        lk.layers.LSTM(2, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        lk.layers.LSTM(2, stateful=True)
    with pytest.raises(ValueError, match="use_cudnn"):
        lk.layers.LSTM(2, use_cudnn="yes")
    layer = lk.layers.LSTM(2, name="the_lstm")
    with pytest.raises(ValueError, match=r"LSTM 'the_lstm' expects an input of rank 3, but received .*\(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))
    layer(X)
    with pytest.raises(ValueError, match=r"LSTM 'the_lstm' expects the last input axis to be 4"):
        layer(np.zeros((3, 5, 6), "float32"))
    with pytest.raises(ValueError, match=r"expects 2 initial state tensor\(s\)"):
        layer(X, initial_state=[np.zeros((3, 2), "float32")])
    with pytest.raises(ValueError, match=r"initial state 1 must have shape \(3, 2\)"):
        layer(X, initial_state=[np.zeros((3, 2), "float32"), np.zeros((3, 5), "float32")])
    with pytest.raises(ValueError, match=r"the mask must have shape \(batch, time\)"):
        layer(X, mask=np.ones((3, 4), bool))


# ---- Keras 3 reference --------------------------------------------------------------------------


def test_config_keys_and_weights_match_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = lk.layers.LSTM(3, return_state=True), keras.layers.LSTM(3, return_state=True)
    assert list(ours.get_config()) == list(theirs.get_config())
    ours(X), theirs(X)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    np.testing.assert_array_equal(np.asarray(ours.cell.bias), np.asarray(theirs.cell.bias))  # unit_forget_bias
    reg = lk.layers.LSTM(3, activity_regularizer="l2").get_config()
    assert list(reg) == list(keras.layers.LSTM(3, activity_regularizer="l2").get_config())


@pytest.mark.parametrize("kwargs", [
    {},
    {"return_sequences": True, "go_backwards": True, "use_bias": False},
    {"return_sequences": True, "return_state": True, "activation": "relu", "recurrent_activation": "hard_sigmoid"},
])
def test_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours = _randomized(lk.layers.LSTM(3, **kwargs), X)
    theirs = keras.layers.LSTM(3, **kwargs)
    theirs(X)
    theirs.set_weights(ours.get_weights())
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    for call in ({}, {"mask": MASK}, {"initial_state": [h0, h0 * 0.5], "mask": MASK}):
        a = lk.utils.tree.flatten(ours(X, **call))
        b = lk.utils.tree.flatten(theirs(X, **call))
        assert len(a) == len(b)
        for x, y in zip(a, b):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_embedding_mask_zero_matches_keras():
    keras = pytest.importorskip("keras")
    if not hasattr(lk.layers, "Embedding"):
        pytest.skip("layerkit has no Embedding layer yet")
    tokens = np.array([[3, 5, 2, 0, 0], [0, 0, 4, 1, 6], [7, 1, 1, 2, 9]], "int32")

    def build(ns):
        inputs = ns.layers.Input(shape=(None,), dtype="int32")
        x = ns.layers.Embedding(10, 4, mask_zero=True)(inputs)
        seq = ns.layers.LSTM(3, return_sequences=True)(x)
        return ns.models.Model(inputs, [seq, ns.layers.LSTM(2)(seq)])

    ours, theirs = build(lk), build(keras)
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    for a, b in zip(ours(tokens), theirs(tokens)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
