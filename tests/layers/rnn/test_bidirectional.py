import numpy as np
import pytest
from rnn_reference import gru_step, lstm_step, run_sequence, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(29)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)
MERGES = {"concat": lambda a, b: np.concatenate([a, b], -1), "sum": np.add, "mul": np.multiply,
          "ave": lambda a, b: (a + b) / 2, None: lambda a, b: [a, b]}


class BidirectionalLSTM(lk.layers.Bidirectional):
    """Bidirectional(LSTM(units, ...)) from plain arguments: run_layer_test rebuilds the layer in
    float64, and the wrapped LSTM must be float64 too."""

    def __init__(self, units, merge_mode="concat", return_sequences=False, return_state=False, **kwargs):
        inner = lk.layers.LSTM(units, return_sequences=return_sequences, return_state=return_state,
                               dtype=kwargs.get("dtype"))
        super().__init__(inner, merge_mode=merge_mode, **kwargs)
        self.units = units

    def get_config(self):
        return {**lk.layers.Layer.get_config(self), "units": self.units, "merge_mode": self.merge_mode,
                "return_sequences": self.return_sequences, "return_state": self.return_state}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _randomized(layer, x, scale=0.5):
    layer(x)
    layer.set_weights([RNG.standard_normal(w.shape) * scale for w in layer.get_weights()])
    return layer


def _lstm_reference(weights, x, states, mask, go_backwards, zero_output):
    k, rk, b = weights
    return run_sequence(lambda x_t, s: lstm_step(x_t, s, k, rk, b), x.astype(np.float64), states, mask=mask,
                        go_backwards=go_backwards, zero_output_for_mask=zero_output)


def test_run_layer_test():
    run_layer_test(lk.layers.Bidirectional, init_kwargs={"layer": lk.layers.LSTM(2), "merge_mode": "sum"},
                   input_shape=(2, 4, 3), expected_output_shape=(2, 2), expected_num_trainable_weights=6,
                   supports_masking=True, run_gradient_check=False)  # the wrapped LSTM is float32: checked below


@pytest.mark.parametrize("merge_mode", ["concat", "ave", None])
def test_run_layer_test_float64_gradients(merge_mode):
    width = 4 if merge_mode == "concat" else 2
    expected = [(2, 3, width)] if merge_mode else [(2, 3, 2), (2, 3, 2)]
    run_layer_test(BidirectionalLSTM, init_kwargs={"units": 2, "merge_mode": merge_mode, "return_sequences": True,
                                                   "return_state": True},
                   input_shape=(2, 3, 3), expected_output_shape=expected + [(2, 2)] * 4,
                   expected_num_trainable_weights=6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_matches_numpy(merge_mode, return_sequences):
    layer = _randomized(lk.layers.Bidirectional(lk.layers.LSTM(3, return_sequences=return_sequences,
                                                               return_state=True), merge_mode=merge_mode), X)
    states = [RNG.standard_normal((3, 3)).astype("float32") for _ in range(4)]
    out = layer(X, initial_state=states, mask=MASK)
    w = weights_of(layer)
    f_seq, f_last, f_states = _lstm_reference(w[:3], X, states[:2], MASK, False, return_sequences)
    b_seq, b_last, b_states = _lstm_reference(w[3:], X, states[2:], MASK, True, return_sequences)
    y, y_rev = (f_seq, b_seq[:, ::-1]) if return_sequences else (f_last, b_last)
    merged = MERGES[merge_mode](y, y_rev)
    expected = (merged if merge_mode is None else [merged]) + f_states + b_states
    flat = lk.utils.tree.flatten(out)
    assert len(flat) == len(expected)
    for a, e in zip(flat, expected):
        np.testing.assert_allclose(np.asarray(a), e, rtol=1e-5, atol=1e-5)


def test_sublayers_weights_and_masking():
    layer = lk.layers.Bidirectional(lk.layers.GRU(2, name="g", return_sequences=True), name="bi")
    assert layer.forward_layer.name == "forward_g" and layer.backward_layer.name == "backward_g"
    assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.zero_output_for_mask
    layer(X)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"] * 2
    assert layer.weights[0] is layer.forward_layer.cell.kernel and layer.weights[3] is layer.backward_layer.cell.kernel
    out = np.asarray(layer(X, mask=MASK))
    assert (out[~MASK] == 0).all()  # masked steps are zeros in both halves
    k, rk, b = weights_of(layer.backward_layer)
    ref, _, _ = run_sequence(lambda x_t, s: gru_step(x_t, s, k, rk, b), X.astype(np.float64), [np.zeros((3, 2))],
                             mask=MASK, go_backwards=True, zero_output_for_mask=True)
    np.testing.assert_allclose(out[..., 2:], ref[:, ::-1], rtol=1e-5, atol=1e-6)
    assert np.array_equal(np.asarray(layer.compute_mask(X, lk.ops.convert_to_tensor(MASK))), MASK)


def test_backward_layer_weights_argument_and_functional_model():
    forward = lk.layers.SimpleRNN(2, return_sequences=True)
    backward = lk.layers.LSTM(3, return_sequences=True, go_backwards=True)
    values = [RNG.standard_normal(s).astype("float32") for s in [(4, 2), (2, 2), (2,), (4, 12), (3, 12), (12,)]]
    layer = lk.layers.Bidirectional(forward, backward_layer=backward, weights=values)
    assert layer.backward_layer is backward
    inputs = lk.layers.Input(shape=(None, 4))
    out = layer(inputs)
    assert out.shape == (None, None, 5)
    for a, v in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(a, v)
    model = lk.models.Model(inputs, out)
    np.testing.assert_allclose(np.asarray(model(X)), np.asarray(layer(X)), rtol=1e-6)
    revived = lk.layers.Bidirectional.from_config(layer.get_config())
    assert isinstance(revived.backward_layer, lk.layers.LSTM) and revived.backward_layer.units == 3


def test_errors():
    with pytest.raises(ValueError, match="`merge_mode` must be one of"):
        lk.layers.Bidirectional(lk.layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="`layer` must be a layer instance"):
        lk.layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="`layer` must be a recurrent layer"):
        lk.layers.Bidirectional(lk.layers.Dense(2))
    with pytest.raises(ValueError, match="must have different `go_backwards`"):
        lk.layers.Bidirectional(lk.layers.LSTM(2), backward_layer=lk.layers.LSTM(2))
    with pytest.raises(ValueError, match="must have the same `return_sequences`"):
        lk.layers.Bidirectional(lk.layers.LSTM(2), backward_layer=lk.layers.LSTM(2, go_backwards=True,
                                                                                   return_sequences=True))
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        lk.layers.Bidirectional(lk.layers.LSTM(2, stateful=True))


# ---- Keras 3 reference --------------------------------------------------------------------------


def test_config_keys_match_keras():
    keras = pytest.importorskip("keras")
    ours = lk.layers.Bidirectional(lk.layers.LSTM(2, return_sequences=True), merge_mode="mul")
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True), merge_mode="mul")
    a, b = ours.get_config(), theirs.get_config()
    assert list(a) == list(b)
    for key in ("layer", "backward_layer"):
        assert {k: v for k, v in a[key].items() if k != "config"} == {k: v for k, v in b[key].items() if k != "config"}
        assert list(a[key]["config"]) == list(b[key]["config"])
        for field in ("go_backwards", "zero_output_for_mask", "return_sequences"):
            assert a[key]["config"][field] == b[key]["config"][field]


def test_matches_keras_in_every_merge_mode():
    keras = pytest.importorskip("keras")
    ours = _randomized(lk.layers.Bidirectional(lk.layers.LSTM(3, return_sequences=True)), X)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))
    theirs(X)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    for merge_mode in MERGES:  # one pair of layers (Keras compiles each new layer), merge mode switched
        ours.merge_mode = theirs.merge_mode = merge_mode
        for call in ({}, {"mask": MASK}):
            a, b = lk.utils.tree.flatten(ours(X, **call)), lk.utils.tree.flatten(theirs(X, **call))
            assert len(a) == len(b) == (2 if merge_mode is None else 1)
            for p, q in zip(a, b):
                np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-5, atol=1e-6)


def test_return_state_matches_keras():
    keras = pytest.importorskip("keras")
    ours = _randomized(lk.layers.Bidirectional(lk.layers.GRU(3, return_state=True)), X)
    theirs = keras.layers.Bidirectional(keras.layers.GRU(3, return_state=True))
    theirs(X)
    theirs.set_weights(ours.get_weights())
    states = [RNG.standard_normal((3, 3)).astype("float32") for _ in range(2)]
    a, b = ours(X, initial_state=states, mask=MASK), theirs(X, initial_state=states, mask=MASK)
    assert len(a) == len(b) == 3
    for p, q in zip(a, b):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-5, atol=1e-6)
