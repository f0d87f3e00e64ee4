"""The fused LSTM and GRU recurrences (ops.recurrent): the kernels against NumPy loops, with and
without masks, their gradients against central differences, the layers' fused paths against
their step loops, in eager and graph mode, and errors that name the op and the argument."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.backend import core
from layerkit.ops.recurrent import lstm_sequence
from layerkit.testing import check_grad


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _reference(zx, h0, c0, r, reverse, mask=None):
    """(time, batch, 6 * units) in processing order: h, c, i, f, g, o of every step, in float64;
    a row keeps its h and c at its masked steps."""
    units, steps = r.shape[0], zx.shape[1]
    h, c, rows = h0.astype(np.float64), c0.astype(np.float64), []
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        z = zx[:, t].astype(np.float64) + h @ r
        i, f, g, o = _sigmoid(z[:, :units]), _sigmoid(z[:, units:2 * units]), np.tanh(z[:, 2 * units:3 * units]), \
            _sigmoid(z[:, 3 * units:])
        keep = np.ones((len(h), 1), bool) if mask is None else mask[:, t:t + 1]
        c = np.where(keep, f * c + i * g, c)
        h = np.where(keep, o * np.tanh(c), h)
        rows.append(np.concatenate([h, c, i, f, g, o], axis=1))
    return np.stack(rows)


def _mask(batch, steps, seed=7):
    """A random mask with a fully masked row, a row masked at its first step and one at its last."""
    m = np.random.default_rng(seed).random((batch, steps)) < 0.6
    m[0] = False
    if batch > 1:
        m[1, 0], m[1, -1] = False, True
    if batch > 2:
        m[2, 0], m[2, -1] = True, False
    return m


def _operands(batch, steps, units, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, steps, 4 * units)).astype(dtype),
            rng.standard_normal((batch, units)).astype(dtype), rng.standard_normal((batch, units)).astype(dtype),
            (rng.standard_normal((units, 4 * units)) * 0.5).astype(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch,steps,units", [(1, 1, 1), (3, 5, 4), (2, 7, 33), (70, 3, 130)])
def test_the_kernel_equals_a_numpy_loop(batch, steps, units, reverse, dtype):
    zx, h0, c0, r = _operands(batch, steps, units, dtype)
    got = np.asarray(lstm_sequence(zx, h0, c0, r, reverse=reverse))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, _reference(zx, h0, c0, r, reverse), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch,steps,units", [(1, 1, 1), (4, 6, 3), (70, 5, 33)])
def test_the_masked_kernel_equals_a_numpy_loop(batch, steps, units, reverse, dtype):
    zx, h0, c0, r = _operands(batch, steps, units, dtype)
    mask = _mask(batch, steps)
    got = np.asarray(lstm_sequence(zx, h0, c0, r, reverse=reverse, mask=mask))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, _reference(zx, h0, c0, r, reverse, mask), rtol=tol, atol=tol)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_equal_central_differences(reverse, masked):
    units = 3
    zx, h0, c0, r = _operands(3, 4, units, "float64", seed=1)
    mask = _mask(3, 4) if masked else None
    # h and c of every step (the gate columns are saved activations, constant to differentiation)
    check_grad(lambda *a: lstm_sequence(*a, reverse=reverse, mask=mask)[:, :, :2 * units], zx, h0, c0, r, rtol=1e-6,
               atol=1e-8)


def _lstm_pair(dtype, **kwargs):
    fused, loop = lk.layers.LSTM(5, dtype=dtype, **kwargs), lk.layers.LSTM(5, dtype=dtype, use_cudnn=False, **kwargs)
    x = np.random.default_rng(2).standard_normal((3, 6, 4)).astype(dtype)
    fused(x), loop(x)
    weights = [np.random.default_rng(3 + k).standard_normal(w.shape) * 0.5 for k, w in enumerate(fused.get_weights())]
    fused.set_weights(weights)
    loop.set_weights(weights)
    return fused, loop, x


def _outputs_and_grads(layer, x, initial_state, mask=None):
    xs = lk.convert_to_tensor(x)
    states = [lk.convert_to_tensor(s) for s in initial_state] if initial_state is not None else None
    with lk.GradientTape() as tape:
        tape.watch([xs] + (states or []))
        out = layer(xs, initial_state=states, mask=mask)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        loss = sum(ops.sum(ops.square(o) * (k + 1.0)) for k, o in enumerate(outs))
    grads = tape.gradient(loss, [xs] + (states or []) + layer.trainable_weights)
    return [np.asarray(o) for o in outs] + [np.asarray(g) for g in grads]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True, "return_sequences": True},
                                    {"return_sequences": True, "return_state": True}, {"go_backwards": True,
                                                                                      "return_state": True}])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("mask", [None, "mask", "zero_output_for_mask"])
def test_the_layer_fused_path_equals_its_step_loop(kwargs, with_state, dtype, mask):
    if mask == "zero_output_for_mask":
        kwargs = dict(kwargs, zero_output_for_mask=True)
    fused, loop, x = _lstm_pair(dtype, **kwargs)
    rng = np.random.default_rng(4)
    state = [rng.standard_normal((3, 5)).astype(dtype) for _ in range(2)] if with_state else None
    m = _mask(3, 6) if mask else None
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(_outputs_and_grads(fused, x, state, m), _outputs_and_grads(loop, x, state, m)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _kernels(layer, x, **call):
    return lk.function(lambda t: layer(t, **call)).get_graph(x).kernel_counts()


def test_the_fused_kernel_is_taken_only_for_the_standard_lstm():
    x = np.random.default_rng(5).standard_normal((2, 4, 3)).astype("float32")
    assert "lstm_sequence" in _kernels(lk.layers.LSTM(2), x)
    assert "lstm_sequence" not in _kernels(lk.layers.LSTM(2, use_cudnn=False), x)
    assert "lstm_sequence" not in _kernels(lk.layers.LSTM(2, activation="relu"), x)
    assert "lstm_sequence" not in _kernels(lk.layers.LSTM(2, recurrent_activation="hard_sigmoid"), x)
    assert "lstm_sequence" in _kernels(lk.layers.LSTM(2), x, mask=np.ones((2, 4), bool))
    assert "lstm_sequence" not in _kernels(lk.layers.LSTM(2, recurrent_dropout=0.5, seed=1), x, training=True)
    assert "lstm_sequence" in _kernels(lk.layers.LSTM(2, dropout=0.5, seed=1), x, training=True)  # input dropout


@pytest.mark.parametrize("mask_zero", [False, True])
def test_a_compiled_training_step_runs_both_lstm_kernels_natively_and_matches_eager(mask_zero):
    model = lk.Sequential([lk.layers.Input(shape=(6,), dtype="int32"), lk.layers.Embedding(20, 4, mask_zero=mask_zero),
                           lk.layers.LSTM(5), lk.layers.Dense(1, activation="sigmoid")])
    x = np.random.default_rng(6).integers(0, 20, (3, 6)).astype("int32")
    x[:, -2:] = 0  # padding: masked steps when mask_zero
    y = np.array([[1.0], [0.0], [1.0]], "float32")

    def grads(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.binary_crossentropy(y, model(x)))
        return [loss] + tape.gradient(loss, model.trainable_weights)
    f = lk.function(grads)
    for a, b in zip(f(x, y), grads(lk.convert_to_tensor(x), lk.convert_to_tensor(y))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    counts = f.get_graph(x, y).kernel_counts()
    assert counts["lstm_sequence"] == 1 and counts["lstm_sequence_grad"] == 1
    assert not f.get_concrete_function(x, y).plan.python_steps([x, y])


def test_second_derivatives_are_refused_with_the_way_out():
    zx, h0, c0, r = (lk.convert_to_tensor(a) for a in _operands(2, 3, 2, "float64"))
    with lk.GradientTape() as outer:
        outer.watch(r)
        with lk.GradientTape() as inner:
            inner.watch(r)
            y = ops.sum(lstm_sequence(zx, h0, c0, r)[:, :, :2])
        g = ops.sum(inner.gradient(y, r))
    with pytest.raises(ValueError, match="second derivatives of the fused LSTM.*use_cudnn=False"):
        outer.gradient(g, r)


@pytest.mark.parametrize("args,error,match", [
    (((2, 3, 8), (2, 3), (2, 2), (2, 8)), ValueError, r"^lstm_sequence: argument 'h0' expected shape \(2, 2\)"),
    (((2, 3, 7), (2, 2), (2, 2), (2, 8)), ValueError, r"^lstm_sequence: argument 'zx' expected shape \(batch, time"),
    (((2, 0, 8), (2, 2), (2, 2), (2, 8)), ValueError, r"^lstm_sequence: argument 'zx' expected shape"),
    (((2, 3, 8), (2, 2), (3, 2), (2, 8)), ValueError, r"^lstm_sequence: argument 'c0' expected shape \(2, 2\)"),
    (((2, 3, 8), (2, 2), (2, 2), (8, 2)), ValueError, r"^lstm_sequence: argument 'r' expected shape \(2, 8\)"),
])
def test_kernel_errors_name_the_argument(args, error, match):
    arrays = [np.zeros(s, "float32") for s in args]
    with pytest.raises(error, match=match):
        core.lstm_sequence(*arrays, False)


def test_kernel_dtype_errors_name_the_argument():
    zx, h0, c0, r = _operands(2, 3, 2, "float32")
    with pytest.raises(TypeError, match=r"^lstm_sequence: argument 'r' expected dtype float32 \(that of 'zx'\)"):
        core.lstm_sequence(zx, h0, c0, r.astype("float64"), False)
    with pytest.raises(TypeError, match=r"^lstm_sequence: argument 'zx' expected float32 or float64"):
        core.lstm_sequence(zx.astype("int32"), h0, c0, r, False)
    out = core.lstm_sequence(zx, h0, c0, r, False)
    with pytest.raises(ValueError, match=r"^lstm_sequence_grad: argument 'g' expected the shape of 'out', \(3, 2, 12\)"):
        core.lstm_sequence_grad(np.zeros((3, 2, 4), "float32"), out, c0, r, True)
    with pytest.raises(ValueError, match=r"^lstm_sequence_grad: argument 'out' expected shape \(time, batch"):
        core.lstm_sequence_grad(np.zeros((3, 2, 5), "float32"), out[..., :5], c0, r, True)


@pytest.mark.parametrize("fn", ["lstm", "gru"])
def test_mask_errors_name_the_argument(fn):
    if fn == "lstm":
        operands = _operands(2, 3, 2, "float32")
        kernel, grad, grad_state = core.lstm_sequence, core.lstm_sequence_grad, operands[2]
        recurrent = operands[3]
    else:
        operands = _gru_operands(2, 3, 2, "float32")
        kernel, grad, grad_state = core.gru_sequence, core.gru_sequence_grad, operands[1]
        recurrent = operands[2]
    name = f"{fn}_sequence"
    with pytest.raises(TypeError, match=rf"^{name}: argument 'mask' expected dtype bool, received float32"):
        kernel(*operands, False, np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=rf"^{name}: argument 'mask' expected shape \(batch, time\) = \(2, 3\), "
                                         r"received \(3, 2\)"):
        kernel(*operands, False, np.ones((3, 2), bool))
    out = kernel(*operands, False, np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=rf"^{name}_grad: argument 'mask' expected shape"):
        grad(out, out, grad_state, recurrent, False, False, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=rf"^{name}: argument 'mask' expected shape"):
        core.run_native_step(name, [0], [], list(operands) + [np.ones((2, 2), bool)], [list(out.shape)], [0])
    # shapes only (symbolic tensors): the op's shape rule checks the mask
    symbolic = [lk.SymbolicTensor(a.shape, "float32") for a in operands]
    fused = lstm_sequence if fn == "lstm" else gru_sequence
    with pytest.raises(ValueError, match=rf"^{name}: expected a bool mask of shape \(batch, time\) = \(2, 3\), "
                                         r"received int32 \(2, 3\)"):
        fused(*symbolic, mask=lk.SymbolicTensor((2, 3), "int32"))
    assert fused(*symbolic, mask=lk.SymbolicTensor((2, 3), "bool")).shape == tuple(out.shape)


@pytest.mark.parametrize("step,ints,shapes,out_shape,error", [
    ("lstm_sequence", [0], [(2, 3, 8), (2, 2), (2, 2)], (3, 2, 12), ValueError),  # arity
    ("lstm_sequence", [], [(2, 3, 8), (2, 2), (2, 2), (2, 8)], (3, 2, 12), ValueError),  # ints
    ("lstm_sequence", [0], [(2, 3, 8), (2, 2), (2, 2), (2, 8)], (2, 3, 12), ValueError),  # batch-major result
    ("lstm_sequence", [0], [(2, 3, 8), (2, 3), (2, 2), (2, 8)], (3, 2, 12), ValueError),
    ("lstm_sequence_grad", [1, 0], [(3, 2, 12), (3, 2, 12), (2, 2), (2, 8)], (2, 3, 8), ValueError),  # no extra row
    ("lstm_sequence_grad", [0, 0], [(3, 2, 12), (3, 2, 12), (2, 2), (2, 8)], (2, 4, 8), ValueError),  # an extra row
    ("lstm_sequence_grad", [1], [(3, 2, 12), (3, 2, 12), (2, 2), (2, 8)], (2, 4, 8), ValueError),  # ints
    ("lstm_sequence_grad", [1, 0], [(3, 2, 4), (3, 2, 12), (2, 2), (2, 8)], (2, 4, 8), ValueError),  # g: 2U columns
])
def test_malformed_native_steps_are_refused_naming_the_step(step, ints, shapes, out_shape, error):
    with pytest.raises(error, match=f"^{step}: "):
        core.run_native_step(step, ints, [], [np.zeros(s, "float32") for s in shapes], [list(out_shape)], [0])


# ---- GRU ------------------------------------------------------------------------------------------
from layerkit.ops.recurrent import gru_sequence  # noqa: E402


def _gru_reference(xp, h0, r, rb, reverse, mask=None):
    """(time, batch, 5 * units) in processing order: h, z, r, hh and the candidate's recurrent part;
    a row keeps its h at its masked steps."""
    units, steps = r.shape[0], xp.shape[1]
    h, rows = h0.astype(np.float64), []
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        x = xp[:, t].astype(np.float64)
        q = h @ r + rb
        z, rr = _sigmoid(x[:, :units] + q[:, :units]), _sigmoid(x[:, units:2 * units] + q[:, units:2 * units])
        hh = np.tanh(x[:, 2 * units:] + rr * q[:, 2 * units:])
        keep = np.ones((len(h), 1), bool) if mask is None else mask[:, t:t + 1]
        h = np.where(keep, z * h + (1 - z) * hh, h)
        rows.append(np.concatenate([h, z, rr, hh, q[:, 2 * units:]], axis=1))
    return np.stack(rows)


def _gru_operands(batch, steps, units, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, steps, 3 * units)).astype(dtype),
            rng.standard_normal((batch, units)).astype(dtype),
            (rng.standard_normal((units, 3 * units)) * 0.5).astype(dtype),
            rng.standard_normal(3 * units).astype(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch,steps,units", [(1, 1, 1), (3, 5, 4), (2, 7, 33), (70, 3, 130)])
def test_the_gru_kernel_equals_a_numpy_loop(batch, steps, units, reverse, dtype):
    xp, h0, r, rb = _gru_operands(batch, steps, units, dtype)
    got = np.asarray(gru_sequence(xp, h0, r, rb, reverse=reverse))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, _gru_reference(xp, h0, r, rb, reverse), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch,steps,units", [(1, 1, 1), (4, 6, 3), (70, 5, 33)])
def test_the_masked_gru_kernel_equals_a_numpy_loop(batch, steps, units, reverse, dtype):
    xp, h0, r, rb = _gru_operands(batch, steps, units, dtype)
    mask = _mask(batch, steps)
    got = np.asarray(gru_sequence(xp, h0, r, rb, reverse=reverse, mask=mask))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, _gru_reference(xp, h0, r, rb, reverse, mask), rtol=tol, atol=tol)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_gradients_equal_central_differences(reverse, masked):
    units = 3
    xp, h0, r, rb = _gru_operands(3, 4, units, "float64", seed=1)
    mask = _mask(3, 4) if masked else None
    check_grad(lambda *a: gru_sequence(*a, reverse=reverse, mask=mask)[:, :, :units], xp, h0, r, rb, rtol=1e-6,
               atol=1e-8)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True, "return_sequences": True},
                                    {"return_sequences": True, "return_state": True, "use_bias": False},
                                    {"go_backwards": True, "return_state": True}])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("mask", [None, "mask", "zero_output_for_mask"])
def test_the_gru_layer_fused_path_equals_its_step_loop(kwargs, with_state, dtype, mask):
    if mask == "zero_output_for_mask":
        kwargs = dict(kwargs, zero_output_for_mask=True)
    fused, loop = lk.layers.GRU(5, dtype=dtype, **kwargs), lk.layers.GRU(5, dtype=dtype, use_cudnn=False, **kwargs)
    x = np.random.default_rng(2).standard_normal((3, 6, 4)).astype(dtype)
    fused(x), loop(x)
    weights = [np.random.default_rng(3 + k).standard_normal(w.shape) * 0.5 for k, w in enumerate(fused.get_weights())]
    fused.set_weights(weights)
    loop.set_weights(weights)
    state = [np.random.default_rng(4).standard_normal((3, 5)).astype(dtype)] if with_state else None
    m = _mask(3, 6) if mask else None
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(_outputs_and_grads(fused, x, state, m), _outputs_and_grads(loop, x, state, m)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_the_fused_gru_kernel_is_taken_only_for_the_standard_gru():
    x = np.random.default_rng(5).standard_normal((2, 4, 3)).astype("float32")
    assert "gru_sequence" in _kernels(lk.layers.GRU(2), x)
    assert "gru_sequence" not in _kernels(lk.layers.GRU(2, use_cudnn=False), x)
    assert "gru_sequence" not in _kernels(lk.layers.GRU(2, reset_after=False), x)
    assert "gru_sequence" not in _kernels(lk.layers.GRU(2, activation="relu"), x)
    assert "gru_sequence" in _kernels(lk.layers.GRU(2), x, mask=np.ones((2, 4), bool))
    assert "gru_sequence" not in _kernels(lk.layers.GRU(2, recurrent_dropout=0.5, seed=1), x, training=True)


@pytest.mark.parametrize("mask_zero", [False, True])
def test_a_compiled_gru_training_step_runs_both_kernels_natively_and_matches_eager(mask_zero):
    model = lk.Sequential([lk.layers.Input(shape=(6,), dtype="int32"), lk.layers.Embedding(20, 4, mask_zero=mask_zero),
                           lk.layers.GRU(5), lk.layers.Dense(1, activation="sigmoid")])
    x = np.random.default_rng(6).integers(0, 20, (3, 6)).astype("int32")
    x[:, -2:] = 0  # padding: masked steps when mask_zero
    y = np.array([[1.0], [0.0], [1.0]], "float32")

    def grads(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.binary_crossentropy(y, model(x)))
        return [loss] + tape.gradient(loss, model.trainable_weights)
    f = lk.function(grads)
    for a, b in zip(f(x, y), grads(lk.convert_to_tensor(x), lk.convert_to_tensor(y))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    counts = f.get_graph(x, y).kernel_counts()
    assert counts["gru_sequence"] == 1 and counts["gru_sequence_grad"] == 1
    assert not f.get_concrete_function(x, y).plan.python_steps([x, y])


def test_gru_kernel_errors_name_the_argument():
    xp, h0, r, rb = _gru_operands(2, 3, 2, "float32")
    with pytest.raises(ValueError, match=r"^gru_sequence: argument 'rb' expected shape \(6,\)"):
        core.gru_sequence(xp, h0, r, rb[:5], False)
    with pytest.raises(ValueError, match=r"^gru_sequence: argument 'h0' expected shape \(2, 2\)"):
        core.gru_sequence(xp, h0[:1], r, rb, False)
    with pytest.raises(ValueError, match=r"^gru_sequence: argument 'xp' expected shape \(batch, time >= 1, 3"):
        core.gru_sequence(xp[..., :5], h0, r, rb, False)
    with pytest.raises(TypeError, match=r"^gru_sequence: argument 'r' expected dtype float32"):
        core.gru_sequence(xp, h0, r.astype("float64"), rb, False)
    out = core.gru_sequence(xp, h0, r, rb, False)
    with pytest.raises(ValueError, match=r"^gru_sequence_grad: argument 'g' expected the shape of 'out'"):
        core.gru_sequence_grad(out[..., :4], out, h0, r, True)
    with pytest.raises(ValueError, match=r"^gru_sequence_grad: argument 'out' expected shape \(time, batch, 5"):
        core.gru_sequence_grad(out[..., :4], out[..., :4], h0, r, True)
    with pytest.raises(ValueError, match=r"^gru_sequence_grad: "):
        core.run_native_step("gru_sequence_grad", [1, 0], [], [out, out, h0, r], [[2, 3, 12]], [0])  # no extra row
    with pytest.raises(ValueError, match=r"^gru_sequence: "):
        core.run_native_step("gru_sequence", [0], [], [xp, h0, r], [[3, 2, 10]], [0])  # arity


@pytest.mark.parametrize("batch,units", [(5, 32), (33, 8), (70, 64), (3, 128)])
@pytest.mark.parametrize("masked", [False, True])
def test_the_float32_step_products_match_the_references_on_every_simd_level(isa_level, batch, units, masked):
    # unit counts whose gate blocks fill whole packed panels (the SIMD path), batch rows that
    # leave partial row blocks per thread; forward and gradients of both fused recurrences
    steps = 4
    mask = _mask(batch, steps) if masked else None
    zx, h0, c0, r = _operands(batch, steps, units, "float32", seed=9)
    got = np.asarray(lstm_sequence(zx, h0, c0, r, mask=mask))
    np.testing.assert_allclose(got, _reference(zx, h0, c0, r, False, mask), rtol=5e-5, atol=5e-5)
    xp, gh0, gr, grb = _gru_operands(batch, steps, units, "float32", seed=9)
    got = np.asarray(gru_sequence(xp, gh0, gr, grb, mask=mask))
    np.testing.assert_allclose(got, _gru_reference(xp, gh0, gr, grb, False, mask), rtol=5e-5, atol=5e-5)
    # gradients against the float64 kernels (which always take the BLAS)
    g = np.random.default_rng(10).standard_normal((steps, batch, 6 * units)).astype("float32")
    # (kernel, its gradient, its operands, the state and recurrent kernel the gradient takes, g's width)
    for forward, backward, operands, state, rec, width in (
            (core.lstm_sequence, core.lstm_sequence_grad, (zx, h0, c0, r), c0, r, 6 * units),
            (core.gru_sequence, core.gru_sequence_grad, (xp, gh0, gr, grb), gh0, gr, 5 * units)):
        gw = g[..., :width]
        d = {}
        for dt in ("float32", "float64"):
            out = forward(*(a.astype(dt) for a in operands), False, mask)
            d[dt] = backward(gw.astype(dt), out, state.astype(dt), rec.astype(dt), True, False, mask)
        np.testing.assert_allclose(d["float32"], d["float64"], rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True}, {"return_state": True}, {"return_sequences": True}])
def test_a_classifier_reading_the_last_step_hands_the_backward_kernel_only_that_step(layer, kwargs):
    from layerkit.graph.executor import PythonPlan

    rnn = getattr(lk.layers, layer)(4, **kwargs)
    x = np.random.default_rng(11).standard_normal((3, 5, 2)).astype("float32")
    rnn(x)

    def grads(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            out = rnn(x)
            outs = out if isinstance(out, (list, tuple)) else [out]
            loss = sum(ops.sum(ops.sin(o) * (k + 1.0)) for k, o in enumerate(outs))
        return tape.gradient(loss, [x] + rnn.trainable_weights)
    f = lk.function(grads)
    expected = grads(lk.convert_to_tensor(x))
    concrete = f.get_concrete_function(x)
    for got in (f(x), PythonPlan(concrete.graph).run([x])):  # the native step and the Python plan
        for a, b in zip(got, expected):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    backward = next(n for n in concrete.graph.nodes if n.op.name.endswith("_sequence_grad"))
    # the last h alone (a GRU's returned state is that h too); an LSTM's returned c is a second
    # slice and a sequence reads every step: those keep the whole gradient
    last_only = "return_sequences" not in kwargs and not (layer == "LSTM" and "return_state" in kwargs)
    assert ("last" in backward.attrs) == last_only
    if last_only:
        assert backward.attrs["last"] == (0, 4) and concrete.graph.values[backward.inputs[0]].shape == (3, 4)
    # traced for any batch: the pass reads the slice without the batch size
    relaxed = lk.function(grads, input_signature=[lk.TensorSpec((None, 5, 2), "float32")])
    for a, b in zip(relaxed(x), expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    backward = next(n for n in relaxed.get_concrete_function(x).graph.nodes if n.op.name.endswith("_sequence_grad"))
    assert ("last" in backward.attrs) == last_only


@pytest.mark.parametrize("step,ints,g_shape", [
    ("lstm_sequence_grad", [0, 0, 3, 3], (2, 0)),   # an empty column range
    ("lstm_sequence_grad", [0, 0, 0, 5], (2, 5)),   # past the state columns (2U = 4)
    ("lstm_sequence_grad", [0, 0, 0, 2], (2, 3)),   # g does not hold those columns
    ("gru_sequence_grad", [0, 0, 0, 3], (2, 3)),    # past h (U = 2)
])
def test_malformed_last_step_gradients_are_refused(step, ints, g_shape):
    if step == "lstm_sequence_grad":
        zx, h0, c0, r = _operands(2, 3, 2, "float32")
        out, state, width = core.lstm_sequence(zx, h0, c0, r, False), c0, 8
    else:
        xp, h0, r, rb = _gru_operands(2, 3, 2, "float32")
        out, state, width = core.gru_sequence(xp, h0, r, rb, False), h0, 12
    with pytest.raises(ValueError, match=f"^{step}: "):
        core.run_native_step(step, ints, [], [np.zeros(g_shape, "float32"), out, state, r], [[2, 3, width]], [0])
