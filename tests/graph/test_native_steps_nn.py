"""Native steps of convolution, pooling and the softmax family: each lowering rule plus its step
computes exactly what the primitive's Python forward computes, on nodes taken from real traced
graphs (forward and gradient, shapes known or unknown at trace time); malformed step specs raise
errors naming the step."""
import collections

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.backend import core
from layerkit.graph.function import TensorSpec
from layerkit.graph.fusion import UNARY
from layerkit.graph.lower_nn import RULES
from layerkit.ops.primitive import REGISTRY

CODES = {"float32": 0, "float64": 1, "int32": 2, "int64": 3, "bool": 4}
Spec = collections.namedtuple("Spec", "shape dtype")


def _rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, shape).astype(dtype)


def _spec(a):
    return Spec(tuple(a.shape), str(a.dtype))


def _nodes(fn, args, signature=None):
    """(primitive name, attrs, input arrays) of every node of fn's graph that has a lowering rule,
    with the inputs each node really receives: the graph is evaluated node by node."""
    graph = lk.function(fn, input_signature=signature).get_graph(*args)
    env = dict(zip(graph.inputs, args))
    for v in graph.values:
        if v.kind == "constant":
            env[v.id] = v.ref
        elif v.kind == "variable":
            env[v.id] = v.ref._data
    found = []
    for n in graph.nodes:
        ins = [env[i] for i in n.inputs]
        out = n.op.forward(*ins, **n.attrs)
        for o, r in zip(n.outputs, out if isinstance(out, (list, tuple)) else [out]):  # fused: a list
            env[o] = np.asarray(r)
        if n.op.name in RULES:
            found.append((n.op.name, dict(n.attrs), ins))
    return found


def _step(name, attrs, ins, out_shape, out_dtype):
    lowered = RULES[name](attrs, [_spec(a) for a in ins], [Spec(tuple(out_shape), out_dtype)])
    assert lowered is not None, name
    step, ints, floats = lowered
    (got,) = core.run_native_step(step, ints, floats, ins, [list(out_shape)], [CODES[out_dtype]])
    return got


def _check(cases, expected_names):
    assert expected_names <= {name for name, _, _ in cases}
    for name, attrs, ins in cases:
        expected = np.asarray(REGISTRY[name].forward(*ins, **attrs))
        got = _step(name, attrs, ins, expected.shape, str(expected.dtype))
        assert got.shape == expected.shape and got.dtype == expected.dtype, name
        scale = float(np.abs(expected).max()) if expected.size else 1.0
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * scale, err_msg=name)


def _unknown(*arrays):
    """A signature with every dimension but the last unknown: "same" pads trace as None pairs."""
    return [TensorSpec((None,) * (a.ndim - 1) + (a.shape[-1],), str(a.dtype)) for a in arrays]


def _with_grads(forward):
    """f(x, w) -> (y, dy/dx, dy/dw) for loss sum(y * y), so the gradient fed back is not constant."""
    def f(*args):
        with lk.GradientTape() as tape:
            tape.watch(list(args))
            y = forward(*args)
            loss = ops.sum(y * y)
        return [y] + list(tape.gradient(loss, list(args)))
    return f


CONV_NAMES = {"conv2d", "conv2d_backprop_input", "conv2d_backprop_filter"}

# (x shape, kernel shape, strides, padding, dilation, kind)
CONV_CASES = [
    ((2, 7, 8, 3), (3, 3, 3, 4), 1, "same", 1, "conv"),
    ((2, 9, 7, 4), (4, 3, 4, 5), 2, "same", 1, "conv"),  # odd total pads: the extra cell after
    ((1, 10, 9, 3), (3, 2, 3, 2), (2, 3), "valid", (2, 1), "conv"),
    ((2, 6, 7, 4), (3, 3, 2, 6), 1, "same", 2, "conv"),  # two groups, dilated
    ((2, 5, 5, 3), (1, 1, 3, 4), 1, "valid", 1, "conv"),  # pointwise
    ((2, 8, 9, 3), (3, 3, 3, 2), 2, "same", 1, "depthwise"),
    ((2, 7, 6, 4), (2, 2, 4, 1), 1, "valid", (1, 2), "depthwise"),
    ((2, 11, 3), (4, 3, 5), 3, "same", 1, "conv"),  # 1-D: runs as 2-D of height 1
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,strides,padding,dilation,kind", CONV_CASES)
def test_conv_steps_equal_the_forwards(xs, ws, strides, padding, dilation, kind, dtype):
    op = ops.conv if kind == "conv" else ops.depthwise_conv
    x, w = _rand(xs, dtype), _rand(ws, dtype, seed=1)
    f = _with_grads(lambda a, b: op(a, b, strides=strides, padding=padding, dilation_rate=dilation))
    _check(_nodes(f, [x, w]), CONV_NAMES)
    if x.ndim == 3:
        return  # 1-D graphs of unknown length do not evaluate node by node (their slicing gradient)
    # unknown sizes: None pads and input shapes, and the extra input of the input gradient
    cases = _nodes(f, [x, w], _unknown(x) + [TensorSpec(w.shape, dtype)])
    if padding == "same":
        assert any(None in attrs["padding"] for _, attrs, _ in cases)
    _check(cases, CONV_NAMES)


ACTIVATIONS = {"none": (-1, lambda y: y), "relu": (UNARY["relu"] - core.FUSED_UNARY_BASE, lambda y: np.maximum(y, 0)),
               "sigmoid": (UNARY["sigmoid"] - core.FUSED_UNARY_BASE, lambda y: 1 / (1 + np.exp(-y))),
               "tanh": (UNARY["tanh"] - core.FUSED_UNARY_BASE, np.tanh)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("xs,ws,strides,padding,dilation,kind", [c for c in CONV_CASES if len(c[0]) == 4])
def test_conv_epilogue_kernel_and_step_equal_conv_then_bias_then_activation(xs, ws, strides, padding, dilation,
                                                                           kind, activation, dtype):
    op = ops.conv if kind == "conv" else ops.depthwise_conv
    x, w = _rand(xs, dtype), _rand(ws, dtype, seed=1)
    (name, attrs, ins), = [c for c in _nodes(lambda a, b: op(a, b, strides=strides, padding=padding,
                                                              dilation_rate=dilation), [x, w]) if c[0] == "conv2d"]
    plain = np.asarray(REGISTRY["conv2d"].forward(*ins, **attrs))
    bias = _rand(plain.shape[-1:], dtype, seed=2)
    code, act = ACTIVATIONS[activation]
    expected = act(plain + bias)
    fused_attrs = {**attrs, "activation": code}
    eager = np.asarray(REGISTRY["conv2d_bias"].forward(*ins, bias, **fused_attrs))
    step = _step("conv2d_bias", fused_attrs, ins + [bias], expected.shape, dtype)
    tol = 1e-6 if dtype == "float32" else 1e-12
    for got in (eager, step):
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * float(np.abs(expected).max()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding,strides", [("same", 2), ("valid", 2), ("valid", 1), ("same", (1, 3))])
def test_conv_transpose_lowers_to_the_input_gradient_step(padding, strides, dtype):
    x, w = _rand((2, 4, 5, 3), dtype), _rand((3, 3, 5, 3), dtype, seed=1)
    f = _with_grads(lambda a, b: ops.conv_transpose(a, b, strides=strides, padding=padding))
    _check(_nodes(f, [x, w]), CONV_NAMES)


POOL_CASES = [
    ((2, 6, 8, 3), 2, None, "valid"),  # non-overlapping
    ((2, 7, 9, 4), 3, 2, "same"),  # overlapping, asymmetric pads
    ((1, 8, 7, 2), (3, 2), (1, 2), "valid"),
    ((2, 5, 6, 3), (2, 3), 1, "same"),
    ((2, 9, 3), 4, 3, "same"),  # 1-D
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,pool,strides,padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_steps_equal_the_forwards(xs, pool, strides, padding, kind, dtype):
    op, names = (ops.max_pool, {"max_pool2d", "max_pool2d_grad"}) if kind == "max" else (
        ops.average_pool, {"avg_pool2d", "avg_pool2d_grad"})
    x = _rand(xs, dtype)
    if kind == "max":
        x = np.round(x)  # ties: the gradient goes to the first maximum, in both paths
    f = _with_grads(lambda a: op(a, pool, strides=strides, padding=padding))
    _check(_nodes(f, [x]), names)
    if x.ndim == 3:
        return  # as for conv: 1-D graphs of unknown length
    cases = _nodes(f, [x], _unknown(x))
    if padding == "same":
        assert any(None in attrs["padding"] for _, attrs, _ in cases)
    _check(cases, names)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 6), (3, 1)])
def test_softmax_steps_equal_the_forwards(shape, dtype):
    x = _rand(shape, dtype) * 10
    cases = _nodes(lambda a: [ops.softmax(a), ops.log_softmax(a), ops.softmax(a * 2.0, axis=0)], [x])
    _check(cases, {"softmax", "log_softmax"})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label_dtype", ["int32", "int64"])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4), (7,)])
def test_sparse_xent_steps_equal_the_forwards(shape, label_dtype, dtype):
    logits = _rand(shape, dtype) * 5
    labels = np.random.default_rng(2).integers(0, shape[-1], shape[:-1]).astype(label_dtype)

    def f(z, lab):
        with lk.GradientTape() as tape:
            tape.watch(z)
            loss = ops.sparse_softmax_cross_entropy(lab, z)
            total = ops.sum(loss * loss)
        return loss, tape.gradient(total, z)
    names = {"sparse_softmax_cross_entropy", "sparse_softmax_cross_entropy_grad"}
    _check(_nodes(f, [logits, labels]), names)


def test_rules_decline_what_no_step_serves():
    assert RULES["softmax"]({}, [Spec((3, 4), "int32")], [Spec((3, 4), "int32")]) is None
    assert RULES["sparse_softmax_cross_entropy"](
        {}, [Spec((3, 4), "float32"), Spec((3,), "float32")], [Spec((3,), "float32")]) is None
    conv = {"strides": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1), "groups": 1}
    assert RULES["conv2d"](conv, [Spec((1, 4, 4, 2), "float32"), Spec((3, 3, 2, 1), "float64")],
                           [Spec((1, 2, 2, 1), "float32")]) is None


def test_rules_give_the_documented_int_layouts():
    conv = {"strides": (2, 3), "padding": (None, None, 0, 1), "dilation": (1, 2), "groups": 1}
    step, ints, floats = RULES["conv2d"](conv, [Spec((1, 9, 8, 2), "float32"), Spec((4, 3, 2, 5), "float32")],
                                         [Spec((1, 5, 2, 5), "float32")])
    # "same" height: out 5, total pad (5-1)*2 + 4 - 9 = 3 -> 1 before, 2 after
    assert (step, ints, floats) == ("conv2d", [2, 3, 1, 2, 0, 1, 1, 2, 1], [])
    pool = {"pool": (3, 2), "strides": (2, 2), "padding": (None, None, 0, 0)}
    step, ints, _ = RULES["avg_pool2d_grad"](pool, [Spec((1, 4, 3, 2), "float32"), Spec((1, 7, 6, 2), "float32")],
                                             [Spec((1, 7, 6, 2), "float32")])
    assert (step, ints) == ("avg_pool2d_grad", [3, 2, 2, 2, 1, 1, 0, 0])


# ---- malformed specs: errors naming the step, never a crash -----------------------------------------

F32, F64, I32, I64 = 0, 1, 2, 3
CONV_INTS = [1, 1, 0, 0, 0, 0, 1, 1, 1]
POOL_INTS = [2, 2, 2, 2, 0, 0, 0, 0]
x4, w4 = _rand((1, 5, 5, 2), "float32"), _rand((3, 3, 2, 4), "float32")
g_conv, b4 = _rand((1, 3, 3, 4), "float32"), _rand((4,), "float32")
g_pool = _rand((1, 2, 2, 2), "float32")
logits, labels = _rand((3, 4), "float32"), np.array([0, 3, 1], "int32")

BAD = [
    # conv2d
    ("conv2d", CONV_INTS, [x4], [[1, 3, 3, 4]], [F32], ValueError),  # arity
    ("conv2d", CONV_INTS[:8], [x4, w4], [[1, 3, 3, 4]], [F32], ValueError),  # ints
    ("conv2d", CONV_INTS, [x4, w4.astype("float64")], [[1, 3, 3, 4]], [F32], TypeError),
    ("conv2d", CONV_INTS, [x4.astype("int32"), w4.astype("int32")], [[1, 3, 3, 4]], [I32], TypeError),
    ("conv2d", CONV_INTS, [x4, w4], [[1, 3, 3, 4]], [F64], TypeError),  # result dtype
    ("conv2d", CONV_INTS, [x4, w4], [[1, 5, 5, 4]], [F32], ValueError),  # result shape
    ("conv2d", CONV_INTS, [x4, w4], [[3, 3, 4]], [F32], ValueError),  # result rank
    ("conv2d", CONV_INTS, [x4[0], w4], [[1, 3, 3, 4]], [F32], ValueError),  # input rank
    ("conv2d", [0, 1, 0, 0, 0, 0, 1, 1, 1], [x4, w4], [[1, 3, 3, 4]], [F32], ValueError),  # stride 0
    ("conv2d", [1, 1, -1, 0, 0, 0, 1, 1, 1], [x4, w4], [[1, 3, 3, 4]], [F32], ValueError),  # negative pad
    ("conv2d", CONV_INTS[:8] + [3], [x4, w4], [[1, 3, 3, 4]], [F32], ValueError),  # groups
    ("conv2d", [1, 1, 0, 0, 0, 0, 3, 3, 1], [x4, w4], [[1, 1, 1, 4]], [F32], ValueError),  # kernel > input
    # conv2d_bias: conv2d's ints plus the activation code; a bias of the output channels
    ("conv2d_bias", CONV_INTS + [-1], [x4, w4], [[1, 3, 3, 4]], [F32], ValueError),  # arity
    ("conv2d_bias", CONV_INTS, [x4, w4, b4], [[1, 3, 3, 4]], [F32], ValueError),  # no activation
    ("conv2d_bias", CONV_INTS + [-2], [x4, w4, b4], [[1, 3, 3, 4]], [F32], ValueError),
    ("conv2d_bias", CONV_INTS + [10 ** 6], [x4, w4, b4], [[1, 3, 3, 4]], [F32], ValueError),
    ("conv2d_bias", CONV_INTS + [-1], [x4, w4, b4[:3]], [[1, 3, 3, 4]], [F32], ValueError),  # bias shape
    ("conv2d_bias", CONV_INTS + [-1], [x4, w4, b4.astype("float64")], [[1, 3, 3, 4]], [F32], TypeError),
    ("conv2d_bias", CONV_INTS + [-1], [x4, w4, b4], [[1, 3, 3, 5]], [F32], ValueError),  # result shape
    # conv2d_backprop_input: the result's shape is the input shape
    ("conv2d_backprop_input", CONV_INTS, [g_conv], [[1, 5, 5, 2]], [F32], ValueError),
    ("conv2d_backprop_input", CONV_INTS, [g_conv, w4], [[1, 6, 5, 2]], [F32], ValueError),
    ("conv2d_backprop_input", CONV_INTS, [g_conv, w4], [[1, 5, 5, 3]], [F32], ValueError),
    ("conv2d_backprop_input", CONV_INTS, [g_conv, w4.astype("float64")], [[1, 5, 5, 2]], [F32], TypeError),
    ("conv2d_backprop_input", [1] * 10, [g_conv, w4], [[1, 5, 5, 2]], [F32], ValueError),
    # conv2d_backprop_filter: the result's shape is the filter shape
    ("conv2d_backprop_filter", CONV_INTS, [x4, g_conv, g_conv], [[3, 3, 2, 4]], [F32], ValueError),
    ("conv2d_backprop_filter", CONV_INTS, [x4, g_conv], [[2, 3, 2, 4]], [F32], ValueError),
    ("conv2d_backprop_filter", CONV_INTS, [x4, g_conv], [[3, 3, 2, 4]], [F64], TypeError),
    ("conv2d_backprop_filter", CONV_INTS, [x4, g_conv], [[3, 3, 2]], [F32], ValueError),
    # pooling
    ("max_pool2d", POOL_INTS, [x4, x4], [[1, 2, 2, 2]], [F32], ValueError),
    ("max_pool2d", POOL_INTS[:7], [x4], [[1, 2, 2, 2]], [F32], ValueError),
    ("max_pool2d", POOL_INTS, [x4], [[1, 3, 2, 2]], [F32], ValueError),
    ("max_pool2d", POOL_INTS, [x4.astype("int64")], [[1, 2, 2, 2]], [I64], TypeError),
    ("max_pool2d", [2, 2, 2, 2, 2, 0, 0, 0], [x4], [[1, 3, 2, 2]], [F32], ValueError),  # pad >= pool
    ("avg_pool2d", POOL_INTS, [x4], [[1, 2, 2, 2]], [F64], TypeError),
    ("avg_pool2d", [2, 0, 2, 2, 0, 0, 0, 0], [x4], [[1, 2, 2, 2]], [F32], ValueError),
    ("avg_pool2d", POOL_INTS, [x4[0]], [[2, 2, 2]], [F32], ValueError),
    ("max_pool2d_grad", POOL_INTS, [x4], [[1, 5, 5, 2]], [F32], ValueError),
    ("max_pool2d_grad", POOL_INTS, [x4, g_pool.astype("float64")], [[1, 5, 5, 2]], [F32], TypeError),
    ("max_pool2d_grad", POOL_INTS, [x4, _rand((1, 3, 2, 2), "float32")], [[1, 5, 5, 2]], [F32], ValueError),
    ("max_pool2d_grad", POOL_INTS, [x4, g_pool], [[1, 5, 4, 2]], [F32], ValueError),
    ("avg_pool2d_grad", POOL_INTS, [], [[1, 5, 5, 2]], [F32], ValueError),
    ("avg_pool2d_grad", POOL_INTS, [g_pool], [[1, 7, 5, 2]], [F32], ValueError),
    ("avg_pool2d_grad", POOL_INTS, [g_pool], [[1, 5, 5, 2], [1, 5, 5, 2]], [F32, F32], ValueError),
    # softmax family
    ("softmax", [], [logits, logits], [[3, 4]], [F32], ValueError),
    ("softmax", [1], [logits], [[3, 4]], [F32], ValueError),
    ("softmax", [], [logits], [[4, 3]], [F32], ValueError),
    ("softmax", [], [logits], [[3, 4]], [F64], TypeError),
    ("log_softmax", [], [np.float32(1.0)], [[]], [F32], ValueError),  # a scalar has no rows
    ("log_softmax", [], [labels], [[3]], [I32], TypeError),
    ("sparse_softmax_cross_entropy", [], [logits], [[3]], [F32], ValueError),
    ("sparse_softmax_cross_entropy", [], [logits, labels.astype("float32")], [[3]], [F32], TypeError),
    ("sparse_softmax_cross_entropy", [], [logits, labels[:2]], [[3]], [F32], ValueError),
    ("sparse_softmax_cross_entropy", [], [logits, labels], [[3, 4]], [F32], ValueError),
    ("sparse_softmax_cross_entropy", [], [logits, labels], [[3]], [I32], TypeError),
    ("sparse_softmax_cross_entropy", [0], [logits, labels], [[3]], [F32], ValueError),
    ("sparse_softmax_cross_entropy_grad", [], [logits, labels], [[3, 4]], [F32], ValueError),
    ("sparse_softmax_cross_entropy_grad", [], [logits, labels, logits], [[3, 4]], [F32], ValueError),
    ("sparse_softmax_cross_entropy_grad", [], [logits, labels, np.ones(3, "float64")], [[3, 4]], [F32], TypeError),
    ("sparse_softmax_cross_entropy_grad", [], [logits, labels, np.ones(3, "float32")], [[3]], [F32], ValueError),
]


@pytest.mark.parametrize("step,ints,ins,shapes,dtypes,error", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_malformed_specs_raise_errors_naming_the_step(step, ints, ins, shapes, dtypes, error):
    with pytest.raises(error, match=f"^{step}: "):
        core.run_native_step(step, ints, [], ins, shapes, dtypes)


@pytest.mark.parametrize("step", ["sparse_softmax_cross_entropy", "sparse_softmax_cross_entropy_grad"])
@pytest.mark.parametrize("bad", [4, -1])
def test_labels_outside_the_classes_raise_when_the_step_runs(step, bad):
    lab = np.array([0, bad, 1], "int64")
    ins = [logits, lab] + ([np.ones(3, "float32")] if step.endswith("grad") else [])
    shape = [3] if step == "sparse_softmax_cross_entropy" else [3, 4]
    with pytest.raises(ValueError, match=f"^{step}: label {bad} at position 1 is outside \\[0, 4\\)"):
        core.run_native_step(step, [], [], ins, [shape], [F32])


@pytest.mark.parametrize("bias,activation,error,match", [
    (b4[:3], -1, ValueError, "argument 'bias' expected shape \\(4,\\)"),
    (b4.reshape(1, 4), -1, ValueError, "argument 'bias' expected shape \\(4,\\)"),
    (b4.astype("float64"), -1, TypeError, "'x' and 'bias' must have the same dtype"),
    (b4, -7, ValueError, "argument 'activation' expected an elementwise op code or -1, received -7"),
])
def test_the_conv_epilogue_kernel_rejects_bad_arguments_naming_them(bias, activation, error, match):
    with pytest.raises(error, match="^conv2d_bias: .*" + match):
        core.conv2d_bias(x4, w4, bias, (1, 1), (0, 0, 0, 0), (1, 1), 1, activation)


def test_steps_with_extra_inputs_ignore_them():
    ints = [1, 1, 1, 1, 1, 1, 1, 1, 1]
    expected = core.conv2d_backprop_input(g_conv[:, :, :, :], w4, (1, 3, 3, 2), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    for extra in ([], [x4], [x4, x4]):
        (got,) = core.run_native_step("conv2d_backprop_input", ints, [], [g_conv, w4] + extra, [[1, 3, 3, 2]], [F32])
        np.testing.assert_array_equal(got, expected)
    expected = core.avg_pool2d_grad(g_pool, (1, 5, 5, 2), (2, 2), (2, 2), (0, 0, 0, 0))
    for extra in ([], [x4]):
        (got,) = core.run_native_step("avg_pool2d_grad", POOL_INTS, [], [g_pool] + extra, [[1, 5, 5, 2]], [F32])
        np.testing.assert_array_equal(got, expected)
