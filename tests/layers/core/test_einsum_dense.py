"""Tests of EinsumDense: conformance, numpy einsum, Keras parity, shapes, initializer fans, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test

CASES = [
    # equation, output_shape, bias_axes, input shape, expected output shape, kernel shape, bias shape
    ("ab,bc->ac", 4, "c", (2, 3), (2, 4), (3, 4), (4,)),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 3), (2, 5, 4), (3, 4), (4,)),
    ("abc,cde->abde", (5, 2, 3), "de", (2, 5, 4), (2, 5, 2, 3), (4, 2, 3), (2, 3)),
    ("abc,cde->abde", (5, 2, 3), "be", (2, 5, 4), (2, 5, 2, 3), (4, 2, 3), (5, 1, 3)),
    ("...b,bc->...c", 3, "c", (2, 4, 5, 2), (2, 4, 5, 3), (2, 3), (3,)),
    ("ab...,bc->ac...", 3, "c", (2, 4, 5), (2, 3, 5), (4, 3), (3, 1)),
    ("abcd,cde->abe", (2, 3), None, (2, 2, 3, 4), (2, 2, 3), (3, 4, 3), None),
]


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _explicit(equation, rank):
    """The equation with the ellipsis spelled out, for numpy."""
    lhs = equation.split(",")[0]
    n = rank - len(lhs.replace("...", ""))
    return equation.replace("...", "XYZW"[:n])


@pytest.mark.parametrize("eq,out_shape,bias_axes,in_shape,expected,_k,_b", CASES[:3] + CASES[4:6])
def test_run_layer_test(eq, out_shape, bias_axes, in_shape, expected, _k, _b):
    run_layer_test(lk.layers.EinsumDense, init_kwargs={"equation": eq, "output_shape": out_shape,
                                                      "bias_axes": bias_axes, "activation": "tanh"},
                   input_shape=in_shape, expected_output_shape=expected,
                   expected_num_trainable_weights=1 + (bias_axes is not None))


@pytest.mark.parametrize("eq,out_shape,bias_axes,in_shape,expected,kernel_shape,bias_shape", CASES)
def test_shapes_and_numpy_formula(eq, out_shape, bias_axes, in_shape, expected, kernel_shape, bias_shape):
    layer = lk.layers.EinsumDense(eq, out_shape, bias_axes=bias_axes, bias_initializer="random_normal")
    x = _data(in_shape)
    out = np.asarray(layer(x))
    assert out.shape == expected
    assert tuple(layer.kernel.shape) == kernel_shape
    assert (None if layer.bias is None else tuple(layer.bias.shape)) == bias_shape
    assert layer.compute_output_shape(in_shape) == expected
    want = np.einsum(_explicit(eq, len(in_shape)), x, np.asarray(layer.kernel))
    if layer.bias is not None:
        want = want + np.asarray(layer.bias)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("eq,out_shape,bias_axes,in_shape,expected,kernel_shape,bias_shape", CASES)
def test_matches_keras(keras_compare, eq, out_shape, bias_axes, in_shape, expected, kernel_shape, bias_shape):
    keras = pytest.importorskip("keras")
    kw = dict(equation=eq, output_shape=out_shape, bias_axes=bias_axes, activation="relu")
    keras_compare(lk.layers.EinsumDense(**kw, bias_initializer="ones"), keras.layers.EinsumDense(**kw), _data(in_shape))


def test_symbolic_unknown_batch():
    layer = lk.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d")
    out = layer(lk.layers.Input((7, 3)))
    assert out.shape == (None, 7, 4)


def test_kernel_initializer_counts_fans_from_equation():
    # Keras 3.15: a VarianceScaling initializer gets the kernel's input axes ("c") and output
    # axes ("d", "e") from the equation, so fan_in = 4 and fan_out = 2 * 3
    init = lk.initializers.GlorotUniform(seed=7)
    layer = lk.layers.EinsumDense("abc,cde->abde", (5, 2, 3), kernel_initializer=init)
    layer.build((None, 5, 4))
    want = lk.initializers.GlorotUniform(seed=7, input_axes=[0], output_axes=[1, 2])((4, 2, 3))
    np.testing.assert_array_equal(np.asarray(layer.kernel), np.asarray(want))
    assert layer.get_config()["kernel_initializer"]["config"]["input_axes"] is None  # the config stays as given


def test_regularizers_and_constraints():
    layer = lk.layers.EinsumDense("ab,bc->ac", 3, bias_axes="c", kernel_regularizer=lk.regularizers.L2(0.5),
                                  bias_constraint="non_neg")
    layer(_data((2, 4)))
    np.testing.assert_allclose(float(np.asarray(layer.losses[0])), 0.5 * np.sum(np.asarray(layer.kernel) ** 2),
                               rtol=1e-5)
    assert isinstance(layer.bias.constraint, lk.constraints.NonNeg)


def test_config_round_trip_keeps_output_shape():
    layer = lk.layers.EinsumDense("abc,cd->abd", [None, 4], bias_axes="d")
    config = layer.get_config()
    assert config["output_shape"] == (None, 4) and config["equation"] == "abc,cd->abd"
    revived = lk.layers.EinsumDense.from_config(config)
    assert revived(_data((2, 3, 5))).shape == (2, 3, 4)


@pytest.mark.parametrize("eq", ["ab->ac", "ab,bc", "a b,bc->ac", "...ab,bc->ac...", "ab,bc->a1", 3])
def test_bad_equation(eq):
    with pytest.raises(ValueError, match=r"EinsumDense '.*'.*equation"):
        lk.layers.EinsumDense(eq, 3)


def test_bad_output_shape_and_bias_axes():
    with pytest.raises(ValueError, match="output_shape"):
        lk.layers.EinsumDense("ab,bc->ac", -2)
    with pytest.raises(ValueError, match="output_shape"):
        lk.layers.EinsumDense("ab,bc->ac", "4")
    with pytest.raises(ValueError, match="bias_axes"):
        lk.layers.EinsumDense("ab,bc->ac", 4, bias_axes="x")


def test_shape_errors_name_layer():
    with pytest.raises(ValueError, match=r"EinsumDense 'ed'.*shared axis 'b'.*\(2, 5, 3\)"):
        lk.layers.EinsumDense("abc,cd->abd", (4, 4), name="ed")(_data((2, 5, 3)))
    with pytest.raises(ValueError, match=r"EinsumDense 'ed2'.*rank 3.*\(2, 3\)"):
        lk.layers.EinsumDense("abc,cd->abd", (None, 4), name="ed2")(_data((2, 3)))
    with pytest.raises(ValueError, match=r"output_shape.*must have 1 entries"):
        lk.layers.EinsumDense("ab,bc->ac", (4, 4))(_data((2, 3)))
    with pytest.raises(ValueError, match="kernel axis 'x'"):
        lk.layers.EinsumDense("ab,bx->ab", 3)(_data((2, 3)))


def test_input_spec_after_build():
    layer = lk.layers.EinsumDense("abc,cd->abd", (None, 4), name="spec")
    layer(_data((2, 3, 5)))
    with pytest.raises(ValueError, match=r"EinsumDense 'spec' expects an input of rank 3.*\(2, 5\)"):
        layer(_data((2, 5)))


def test_leading_ellipsis_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"EinsumDense 'e3'.*rank 2 or more.*\(3,\)"):
        lk.layers.EinsumDense("...b,bc->...c", 2, name="e3")(_data((3,)))
