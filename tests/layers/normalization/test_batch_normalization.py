import numpy as np
import pytest

import layerkit as lk
from layerkit.autodiff import GradientTape
from layerkit.ops import SymbolicTensor
from layerkit.testing import run_layer_test

EPS = 1e-3


def _bn_numpy(x, mean, var, gamma, beta, axis, eps=EPS):
    shape = [1] * x.ndim
    shape[axis] = -1
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


def _batch_moments(x, axis):
    axes = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    return x.mean(axis=axes), x.var(axis=axes)  # biased variance


def _random_weights(layer, rng):
    """Random gamma/beta and moving statistics (a positive moving variance)."""
    values = []
    for w in layer.weights:
        v = rng.standard_normal(w.shape).astype(w.dtype)
        values.append(np.abs(v) + 0.5 if w.name == "moving_variance" else v)
    layer.set_weights(values)
    return values


def test_run_layer_test():
    for training in (True, False):
        run_layer_test(lk.layers.BatchNormalization, input_shape=(4, 3), expected_output_shape=(4, 3),
                       expected_num_trainable_weights=2, expected_num_non_trainable_weights=2,
                       supports_masking=True, gradient_check_training=training)
    run_layer_test(lk.layers.BatchNormalization, init_kwargs={"axis": 1, "momentum": 0.9, "epsilon": 0.01},
                   input_shape=(3, 2, 4, 2), expected_output_shape=(3, 2, 4, 2),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=2,
                   gradient_check_training=True)
    run_layer_test(lk.layers.BatchNormalization, init_kwargs={"center": False}, input_shape=(5, 3),
                   call_kwargs={"training": True}, expected_output_shape=(5, 3),
                   expected_num_trainable_weights=1, expected_num_non_trainable_weights=2,
                   gradient_check_training=True)


def test_weights_order_names_and_shapes():
    layer = lk.layers.BatchNormalization(axis=1)
    layer.build((2, 5, 3))
    assert [(w.name, w.shape, w.trainable) for w in layer.weights] == [
        ("gamma", (5,), True), ("beta", (5,), True), ("moving_mean", (5,), False), ("moving_variance", (5,), False)]
    no_center = lk.layers.BatchNormalization(center=False)
    no_center.build((2, 3))
    assert [w.name for w in no_center.weights] == ["gamma", "moving_mean", "moving_variance"]
    bare = lk.layers.BatchNormalization(center=False, scale=False)
    bare.build((2, 3))
    assert [w.name for w in bare.weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(np.asarray(layer.moving_variance), np.ones(5, "float32"))
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), np.zeros(5, "float32"))


@pytest.mark.parametrize("axis,shape", [(-1, (6, 3)), (1, (4, 3, 2, 2)), (-1, (2, 3, 2, 4)), (2, (2, 2, 3))])
def test_training_output_matches_numpy(axis, shape):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 3 + 2).astype("float32")
    layer = lk.layers.BatchNormalization(axis=axis)
    layer.build(shape)
    gamma, beta, _, _ = _random_weights(layer, rng)
    out = np.asarray(layer(x, training=True))
    mean, var = _batch_moments(x.astype(np.float64), axis)
    np.testing.assert_allclose(out, _bn_numpy(x, mean, var, gamma, beta, axis), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training", [False, None])
def test_inference_output_uses_moving_statistics(training):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4)).astype("float32")
    layer = lk.layers.BatchNormalization()
    layer.build(x.shape)
    gamma, beta, mm, mv = _random_weights(layer, rng)
    out = np.asarray(layer(x) if training is None else layer(x, training=training))
    np.testing.assert_allclose(out, _bn_numpy(x, mm, mv, gamma, beta, -1), rtol=1e-5, atol=1e-6)
    # inference leaves the moving statistics alone
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), mm)
    np.testing.assert_array_equal(np.asarray(layer.moving_variance), mv)


def test_moving_statistics_follow_the_recurrence():
    rng = np.random.default_rng(3)
    momentum = 0.8
    layer = lk.layers.BatchNormalization(axis=1, momentum=momentum)
    layer.build((4, 3, 5))
    mean_ref, var_ref = np.zeros(3), np.ones(3)
    for step in range(4):
        x = (rng.standard_normal((4, 3, 5)) * (step + 1) + step).astype("float32")
        layer(x, training=True)
        m, v = _batch_moments(x.astype(np.float64), 1)
        mean_ref = mean_ref * momentum + m * (1 - momentum)
        var_ref = var_ref * momentum + v * (1 - momentum)
        np.testing.assert_allclose(np.asarray(layer.moving_mean), mean_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(layer.moving_variance), var_ref, rtol=1e-5, atol=1e-6)


def test_inference_after_training_uses_the_updated_statistics():
    rng = np.random.default_rng(4)
    layer = lk.layers.BatchNormalization(momentum=0.5, center=False, scale=False)
    for _ in range(3):
        layer(rng.standard_normal((8, 2)).astype("float32") * 4 + 10, training=True)
    mm, mv = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    assert np.all(mm > 5)  # moved toward the data's mean of 10
    x = rng.standard_normal((3, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), _bn_numpy(x, mm, mv, None, None, -1),
                               rtol=1e-5, atol=1e-6)


def test_frozen_layer_runs_in_inference_mode():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3)).astype("float32") + 3
    layer = lk.layers.BatchNormalization()
    layer.build(x.shape)
    gamma, beta, mm, mv = _random_weights(layer, rng)
    layer.trainable = False
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out, _bn_numpy(x, mm, mv, gamma, beta, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), mm)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    layer.trainable = True  # unfreezing restores training behaviour
    mean, var = _batch_moments(x.astype(np.float64), -1)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), _bn_numpy(x, mean, var, gamma, beta, -1),
                               rtol=1e-4, atol=1e-5)


def test_masked_batch_statistics():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5, 2)).astype("float32")
    mask = rng.random((3, 5)) > 0.4
    x[~mask] = 1e3  # masked positions must not influence the statistics
    layer = lk.layers.BatchNormalization(momentum=0.0)
    layer.build(x.shape)
    gamma, beta, _, _ = _random_weights(layer, rng)
    out = np.asarray(layer(x, training=True, mask=mask))
    kept = x[mask].astype(np.float64)  # (n_kept, 2)
    mean, var = kept.mean(axis=0), kept.var(axis=0)
    np.testing.assert_allclose(out[mask], _bn_numpy(kept, mean, var, gamma, beta, -1), rtol=1e-4, atol=1e-5)
    # momentum 0: the moving statistics are the masked batch's
    np.testing.assert_allclose(np.asarray(layer.moving_mean), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.moving_variance), var, rtol=1e-4, atol=1e-6)


def test_mask_from_previous_layer_is_used_and_propagated():
    x = np.array([[[1.0], [3.0], [100.0]], [[5.0], [7.0], [100.0]]], dtype="float32")
    mask = np.array([[True, True, False], [True, True, False]])
    inp = lk.ops.convert_to_tensor(x)
    inp._keras_mask = lk.ops.convert_to_tensor(mask)
    layer = lk.layers.BatchNormalization(momentum=0.0)
    out = layer(inp, training=True)
    np.testing.assert_allclose(np.asarray(layer.moving_mean), [4.0], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), mask)


def test_gradients_flow_through_the_batch_statistics():
    # sum(BN(x)) in training mode is beta * n whatever x is, so its gradient with respect to x is
    # zero: it is not zero if the batch mean is treated as a constant
    rng = np.random.default_rng(7)
    x = lk.ops.convert_to_tensor(rng.standard_normal((6, 3)))
    layer = lk.layers.BatchNormalization(dtype="float64")
    with GradientTape() as tape:
        tape.watch(x)
        y = lk.ops.sum(layer(x, training=True))
    gx, gbeta = tape.gradient(y, [x, layer.beta])
    np.testing.assert_allclose(np.asarray(gx), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.asarray(gbeta), [6.0, 6.0, 6.0])
    assert not np.allclose(np.asarray(layer.moving_mean), 0.0)  # the update happened inside the tape


def test_functional_model_in_training_mode_updates_statistics():
    inp = lk.layers.Input(shape=(3,))
    layer = lk.layers.BatchNormalization(momentum=0.0)
    model = lk.models.Model(inp, layer(inp))
    x = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 9.0]], dtype="float32")
    model(x)
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), np.zeros(3))
    model(x, training=True)
    np.testing.assert_allclose(np.asarray(layer.moving_mean), [2.0, 3.0, 6.0])
    np.testing.assert_allclose(np.asarray(layer.moving_variance), [1.0, 1.0, 9.0])


def test_symbolic_call_shapes():
    layer = lk.layers.BatchNormalization()
    out = layer(SymbolicTensor((None, 5, 3), "float32"), mask=SymbolicTensor((None, 5), "bool"), training=True)
    assert out.shape == (None, 5, 3)
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 3)
    np.testing.assert_array_equal(np.asarray(layer.moving_mean), np.zeros(3))  # symbolic: nothing stored


def test_float64_layer():
    x = np.random.default_rng(8).standard_normal((4, 2))
    layer = lk.layers.BatchNormalization(dtype="float64", momentum=0.0)
    out = layer(x, training=True)
    assert out.dtype == "float64" and layer.moving_mean.dtype == "float64"
    np.testing.assert_allclose(np.asarray(layer.moving_mean), x.mean(axis=0), rtol=1e-12)


def test_constructor_errors():
    with pytest.raises(ValueError, match="renorm"):
        lk.layers.BatchNormalization(renorm=True)
    with pytest.raises(TypeError, match="`axis` must be an int"):
        lk.layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match="`momentum` must be in"):
        lk.layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="`epsilon` must be positive"):
        lk.layers.BatchNormalization(epsilon=0.0)
    with pytest.raises(ValueError, match="unrecognized keyword"):
        lk.layers.BatchNormalization(units=3)


def test_input_errors():
    layer = lk.layers.BatchNormalization(name="bn")
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn' expects an input of rank 2"):
        layer(np.zeros((2, 3, 3), "float32"))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn' expects the last input axis to be 3"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        lk.layers.BatchNormalization(axis=3)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="expects a mask of rank 1"):
        layer(np.zeros((2, 3), "float32"), mask=np.ones((2, 3), bool), training=True)
    with pytest.raises(ValueError, match="must be known"):
        lk.layers.BatchNormalization()(SymbolicTensor((None, None), "float32"))


# ---- against Keras ----------------------------------------------------------------------------


def _keras_pair(keras, kwargs, shape, rng):
    ours = lk.layers.BatchNormalization(**kwargs)
    ref = keras.layers.BatchNormalization(**kwargs)
    ours.build(shape)
    ref.build(shape)
    values = _random_weights(ours, rng)
    ref.set_weights(values)
    return ours, ref


@pytest.mark.parametrize("kwargs,shape", [({}, (6, 4)), ({"axis": 1, "momentum": 0.7}, (3, 4, 2, 2)),
                                          ({"center": False, "epsilon": 0.1}, (2, 5, 3)),
                                          ({"scale": False}, (4, 3))])
def test_matches_keras(kwargs, shape):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(9)
    ours, ref = _keras_pair(keras, kwargs, shape, rng)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in ref.weights]
    assert list(ours.get_config()) == list(ref.get_config())
    for step in range(3):
        x = (rng.standard_normal(shape) * 2 + step).astype("float32")
        np.testing.assert_allclose(np.asarray(ours(x, training=False)), np.asarray(ref(x, training=False)),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(ours(x, training=True)), np.asarray(ref(x, training=True)),
                                   rtol=1e-5, atol=1e-5)
        for a, b in zip(ours.weights, ref.weights):  # the moving statistics after each training call
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.name)


def test_matches_keras_with_mask_and_frozen():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(10)
    ours, ref = _keras_pair(keras, {"momentum": 0.5}, (3, 4, 2), rng)
    x = rng.standard_normal((3, 4, 2)).astype("float32")
    mask = rng.random((3, 4)) > 0.3
    np.testing.assert_allclose(np.asarray(ours(x, training=True, mask=mask)),
                               np.asarray(ref(x, training=True, mask=mask)), rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.weights, ref.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.name)
    ours.trainable = ref.trainable = False
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), np.asarray(ref(x, training=True)),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.weights, ref.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.name)


def test_config_matches_keras_values():
    keras = pytest.importorskip("keras")
    kwargs = {"axis": 1, "momentum": 0.9, "epsilon": 0.01, "center": False, "gamma_regularizer": "l2"}
    ours = lk.layers.BatchNormalization(**kwargs).get_config()
    ref = keras.layers.BatchNormalization(**kwargs).get_config()
    for key in ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "moving_variance_initializer",
                "synchronized", "renorm", "renorm_clipping", "renorm_momentum"):
        assert ours[key] == ref[key], key
    assert ours["gamma_regularizer"]["class_name"] == ref["gamma_regularizer"]["class_name"]
    revived = lk.layers.BatchNormalization.from_config(ref)
    assert revived.axis == 1 and revived.momentum == 0.9 and revived.center is False


def test_a_compiled_training_step_updates_the_moving_statistics_as_eagerly():
    def run(compiled):
        layer = lk.layers.BatchNormalization(momentum=0.5)
        layer.build((4, 3))
        fn = lk.function(lambda t: layer(t, training=True)) if compiled else (lambda t: layer(t, training=True))
        rng = np.random.default_rng(5)
        outs = [np.asarray(fn(rng.standard_normal((4, 3)).astype("float32"))) for _ in range(3)]
        infer = lk.function(lambda t: layer(t, training=False)) if compiled else (lambda t: layer(t, training=False))
        outs.append(np.asarray(infer(np.ones((2, 3), "float32"))))
        return outs, np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    (eager, mean_e, var_e), (graph, mean_g, var_g) = run(False), run(True)
    assert not np.allclose(mean_e, 0.0)  # the statistics moved
    np.testing.assert_allclose(mean_g, mean_e, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(var_g, var_e, rtol=1e-6, atol=1e-7)
    for a, b in zip(graph, eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
