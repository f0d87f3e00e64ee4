"""lk.function: traced graphs give the eager results; variables, assigns, tapes and layers inside;
signatures, retracing and the optimization passes."""
import warnings

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.graph.fusion import BINARY, UNARY


def _rand(*shape, seed=0, low=-2.0, high=2.0, dtype="float32"):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


POSITIVE = {"sqrt", "rsqrt", "log", "log1p", "reciprocal"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_every_fusible_unary_op_fused_equals_eager(name, dtype):
    fn = getattr(ops, name)
    low = 0.1 if name in POSITIVE else -3.0
    x = _rand(7, 33, low=low, high=3.0, dtype=dtype)
    # two chained ops make a fused group: op(x) * 1.5 + op(x)
    f = lk.function(lambda t: fn(t) * 1.5 + fn(t))
    eager = np.asarray(fn(x)) * 1.5 + np.asarray(fn(x))
    got = np.asarray(f(x))
    assert "fused_elementwise" in f.get_graph(x).kernel_counts()
    np.testing.assert_allclose(got, eager, rtol=1e-6 if dtype == "float32" else 1e-12, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_every_fusible_binary_op_fused_equals_eager(name, dtype):
    fn = {"relu_grad": None}.get(name, getattr(ops, name, None))
    a = _rand(5, 8, low=0.5 if name == "power" else -2, dtype=dtype)
    b = _rand(8, seed=1, low=0.5, high=2.0, dtype=dtype)
    b[::3] = a[0, ::3]  # ties for the comparisons
    if fn is None:  # relu_grad is reached through relu's gradient
        def f(x, y):
            with lk.GradientTape() as tape:
                tape.watch(x)
                z = ops.sum(ops.relu(x) * y)
            return tape.gradient(z, x) * 2.0
    else:
        def f(x, y):
            r = fn(x * 1.0 - 0.0, y)
            return ops.where(r, 1.0, -1.0) if r.dtype == "bool" else r * 2.0
    eager, compiled = f(lk.convert_to_tensor(a), lk.convert_to_tensor(b)), lk.function(f)(a, b)
    np.testing.assert_allclose(np.asarray(compiled), np.asarray(eager), rtol=1e-6, atol=1e-7)


def test_where_and_bool_outputs_in_a_fused_group():
    def f(x):
        mask = ops.greater(x, 0.0)
        return ops.where(mask, ops.exp(x), x * 0.5), mask
    x = _rand(4, 9)
    (y, m), (ey, em) = lk.function(f)(x), f(lk.convert_to_tensor(x))
    np.testing.assert_allclose(np.asarray(y), np.asarray(ey), rtol=1e-6)
    assert m.dtype == "bool" and np.array_equal(np.asarray(m), np.asarray(em))


def test_graph_results_equal_eager_for_a_mixed_program():
    def f(x, w, idx):
        h = ops.tanh(ops.matmul(x, w))
        s = ops.softmax(h, axis=-1)
        g = ops.take(s, idx, axis=0)
        return ops.mean(ops.log(g + 1e-3)), ops.concatenate([h, s], axis=1)[:, ::2]
    x, w, idx = _rand(6, 4), _rand(4, 5, seed=2), np.array([0, 3, 3, 5], "int32")
    eager = f(*[lk.convert_to_tensor(a) for a in (x, w, idx)])
    got = lk.function(f)(x, w, idx)
    for a, b in zip(got, eager):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_variables_are_captured_by_reference_and_assigns_are_part_of_the_graph():
    v = lk.Variable(np.zeros(3, "float32"))

    @lk.function
    def bump(x):
        v.assign_add(x)
        return v * 2.0  # reads the value assigned above

    x = np.ones(3, "float32")
    np.testing.assert_array_equal(np.asarray(bump(x)), [2, 2, 2])
    np.testing.assert_array_equal(np.asarray(bump(x)), [4, 4, 4])
    np.testing.assert_array_equal(np.asarray(v), [2, 2, 2])
    v.assign(np.full(3, 10, "float32"))  # changed outside: the graph reads it by reference
    np.testing.assert_array_equal(np.asarray(bump(x)), [22, 22, 22])
    assert bump.trace_count == 1


def test_a_whole_training_step_compiles_and_matches_eager():
    def make():
        lk.utils.set_random_seed(1)
        model = lk.Sequential([lk.layers.Input(shape=(5,)), lk.layers.Dense(8, activation="relu"),
                               lk.layers.Dense(3)])
        return model

    def step_for(model):
        def step(x, y):
            with lk.GradientTape() as tape:
                loss = ops.mean(ops.sparse_softmax_cross_entropy(y, model(x)))
            for w, g in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights)):
                w.assign_sub(0.1 * g)
            return loss
        return step

    x, y = _rand(16, 5), np.random.default_rng(0).integers(0, 3, 16).astype("int32")
    m_eager, m_graph = make(), make()
    m_graph.set_weights(m_eager.get_weights())
    eager_step, graph_step = step_for(m_eager), lk.function(step_for(m_graph))
    for _ in range(5):
        le = eager_step(lk.convert_to_tensor(x), lk.convert_to_tensor(y))
        lg = graph_step(x, y)
        np.testing.assert_allclose(float(lg), float(le), rtol=1e-5)
    for a, b in zip(m_graph.get_weights(), m_eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert graph_step.trace_count == 1


def test_retrace_per_shape_and_a_warning_when_it_keeps_happening():
    f = lk.function(lambda x: x * 2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 7):
            assert f(np.ones(n, "float32")).shape == (n,)
    assert f.trace_count == 6
    assert any("traced 5 times" in str(w.message) for w in caught)


def test_repeated_array_calls_reuse_their_trace_and_still_check_each_argument():
    f = lk.function(lambda x, y: x * 2.0 + y)
    a, b = np.ones((2, 3), "float32"), np.full((2, 3), 5.0, "float32")
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(f(a, b)), 7.0)
        np.testing.assert_allclose(np.asarray(f(lk.convert_to_tensor(a), b)), 7.0)
    assert f.trace_count == 1
    np.testing.assert_allclose(np.asarray(f(a, 1.5)), 3.5)  # a Python number: part of the signature
    np.testing.assert_allclose(np.asarray(f(a, 2.5)), 4.5)
    np.testing.assert_allclose(np.asarray(f(a[:, ::2], b[:, :2])), 7.0)  # strided: made contiguous
    assert f.trace_count == 4
    g = lk.function(lambda x: ops.sum(x), input_signature=[lk.TensorSpec((None, 3), "float32")])
    assert float(g(a)) == 6.0
    with pytest.raises(ValueError, match="do not match its input_signature"):
        g(np.ones((2, 4), "float32"))
    assert float(g(a)) == 6.0


def test_reduce_retracing_and_input_signature_trace_once_for_all_shapes():
    f = lk.function(lambda x: ops.sum(x * x, axis=-1), reduce_retracing=True)
    for n in (2, 3, 4, 5):
        np.testing.assert_allclose(np.asarray(f(np.ones((n, 3), "float32"))), np.full(n, 3.0))
    assert f.trace_count == 2  # the first shape, then once with the changed dimension unknown
    assert f.get_concrete_function(np.ones((9, 3), "float32")).graph.values[0].shape == (None, 3)
    f(np.ones((2, 4), "float32"))  # another width too: now both are unknown
    assert f.trace_count == 3 and f.get_concrete_function(np.ones((1, 1), "float32")).graph.values[0].shape == (
        None, None)
    # only what changed is unknown: a layer that needs its feature size (attention projections)
    # still sees it when the batch varies
    attention = lk.layers.MultiHeadAttention(2, 4)
    h = lk.function(lambda q: attention(q, q), reduce_retracing=True)
    for n in (2, 3, 5):
        q = np.random.default_rng(n).standard_normal((n, 4, 8)).astype("float32")
        np.testing.assert_allclose(np.asarray(h(q)), np.asarray(attention(q, q)), rtol=1e-5, atol=1e-5)
    assert h.trace_count == 2
    g = lk.function(lambda x: ops.mean(x, axis=0), input_signature=[lk.TensorSpec((None, 2), "float32")])
    np.testing.assert_allclose(np.asarray(g(np.arange(8, dtype="float32").reshape(4, 2))), [3, 4])
    np.testing.assert_allclose(np.asarray(g(np.ones((7, 2), "float32"))), [1, 1])
    assert g.trace_count == 1
    with pytest.raises(ValueError, match="do not match its input_signature"):
        g(np.ones((3, 3), "float32"))


def test_python_control_flow_unrolls_and_python_arguments_are_part_of_the_signature():
    @lk.function
    def power(x, n):
        y = x
        for _ in range(n - 1):
            y = y * x
        return y
    x = np.full(2, 2.0, "float32")
    assert np.asarray(power(x, 3)).tolist() == [8, 8] and np.asarray(power(x, 4)).tolist() == [16, 16]
    assert power.trace_count == 2 and power.get_graph(x, 4).kernel_counts() == {"fused_elementwise": 1}


def test_data_dependent_python_branch_is_explained():
    @lk.function
    def f(x):
        if ops.sum(x) > 0:
            return x
        return -x
    with pytest.raises(TypeError, match="symbolic tensor has no value.*ops.cond"):
        f(np.ones(2, "float32"))


def test_passes_fold_constants_remove_dead_code_and_merge_common_subexpressions():
    c = lk.convert_to_tensor(np.arange(3, dtype="float32"))

    @lk.function
    def f(x):
        folded = ops.exp(c) * 2.0  # constants only: computed at trace time
        unused = ops.matmul(x[None], x[:, None])  # never returned: removed
        a, b = ops.tanh(x), ops.tanh(x)  # one tanh
        return a + b + folded

    x = np.ones(3, "float32")
    counts = f.get_graph(x).kernel_counts()
    assert counts == {"fused_elementwise": 1}
    concrete = f.get_concrete_function(x)
    assert concrete.traced_graph.kernel_counts() == {"tanh": 2, "add": 2} and concrete.kernel_count() == 1
    np.testing.assert_allclose(np.asarray(f(x)), 2 * np.tanh(1.0) + np.exp(np.arange(3)) * 2, rtol=1e-6)
    assert "fuses: tanh -> add" in concrete.report()


def test_method_decorator_traces_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @lk.function
        def __call__(self, x):
            return x * self.k
    a, b = Scaler(2.0), Scaler(3.0)
    x = np.ones(2, "float32")
    assert np.asarray(a(x)).tolist() == [2, 2] and np.asarray(b(x)).tolist() == [3, 3]


def test_dead_code_elimination_keeps_only_what_outputs_and_updates_need():
    from layerkit.graph.ir import Graph, Node
    from layerkit.graph.passes import dead_code_elimination
    g = Graph()
    x = g.new_value("input", (2,), "float32")
    g.inputs = [x]
    live, dead, upd = (g.new_value("node", (2,), "float32") for _ in range(3))
    g.nodes = [Node(ops.REGISTRY["exp"], [x], {}, live), Node(ops.REGISTRY["tanh"], [x], {}, dead),
               Node(ops.REGISTRY["negative"], [x], {}, upd)]
    g.outputs = [live]
    g.updates = [(lk.Variable(np.zeros(2, "float32")), upd)]
    assert [n.op.name for n in dead_code_elimination(g).nodes] == ["exp", "negative"]


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_dense_layers_compile_to_linear_kernels_with_the_eager_result(activation, shape):
    layer = lk.layers.Dense(4, activation=activation)
    f = lk.function(lambda x: layer(x))
    x = _rand(*shape)
    np.testing.assert_allclose(np.asarray(f(x)), np.asarray(layer(x)), rtol=1e-6, atol=1e-6)
    assert f.get_graph(x).kernel_counts() == {"linear": 1}


def test_a_long_fused_chain_reuses_registers_and_keeps_every_stored_value():
    def chain(x, y):
        mids = []
        for i in range(40):
            x = ops.tanh(x * y + 0.25 * (i + 1))
            if i % 13 == 0:
                mids.append(x)  # read outside the group: stored
        return [x] + mids
    f = lk.function(chain)
    x, y = _rand(33, 7), _rand(7, seed=1)
    (node,) = [n for n in f.get_graph(x, y).nodes if n.op.name == "fused_elementwise"]
    # live at once: y, x, a product, a constant, and the three stored values awaiting their STOREs
    assert len(node.attrs["ops"]) == 120 and node.attrs["n_regs"] == 7
    for a, b in zip(f(x, y), chain(lk.convert_to_tensor(x), lk.convert_to_tensor(y))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_the_gemm_epilogue_fuses_through_a_reshape_that_keeps_the_last_axis():
    w, b = _rand(4, 5, seed=1), _rand(5, seed=2)

    def projected(x, last):  # a 3-D input projected by one 2-D GEMM, as an RNN's input projection
        y = ops.reshape(ops.matmul(ops.reshape(x, (-1, 4)), w), (2, 3, 5) if last else (2, 15))
        return ops.relu(y + b) if last else ops.relu(y + ops.tile(b, (3,)))
    x = _rand(2, 3, 4)
    for last, fused in ((True, True), (False, False)):
        f = lk.function(lambda t: projected(t, last))
        np.testing.assert_allclose(np.asarray(f(x)), np.asarray(projected(lk.convert_to_tensor(x), last)),
                                   rtol=1e-6, atol=1e-6)
        assert ("linear" in f.get_graph(x).kernel_counts()) == fused


def test_training_fuses_bias_and_relu_because_relu_grad_reads_the_output():
    layer = lk.layers.Dense(4, activation="relu")
    x = _rand(6, 5)
    layer(x)

    def grads(x):
        with lk.GradientTape() as tape:
            y = ops.sum(ops.square(layer(x)))
        return tape.gradient(y, layer.trainable_weights)
    f = lk.function(grads)
    for a, b in zip(f(x), grads(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    linear = [n for n in f.get_graph(x).nodes if n.op.name == "linear"]
    assert len(linear) == 1 and linear[0].attrs["activation"] != -1  # no pre-activation stored


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("depthwise", [False, True])
def test_conv_layers_compile_to_conv_epilogue_kernels_with_the_eager_result(activation, depthwise):
    layer = (lk.layers.DepthwiseConv2D(3, activation=activation) if depthwise
             else lk.layers.Conv2D(4, 3, padding="same", activation=activation))
    f = lk.function(lambda x: layer(x))
    x = _rand(2, 7, 6, 3)
    np.testing.assert_allclose(np.asarray(f(x)), np.asarray(layer(x)), rtol=1e-5, atol=1e-6)
    counts = f.get_graph(x).kernel_counts()  # a depthwise kernel is reshaped first: a view
    assert counts.pop("conv2d_bias") == 1 and set(counts) <= {"reshape"}


def test_cnn_training_fuses_conv_bias_and_relu_and_matches_eager_gradients():
    model = lk.Sequential([lk.layers.Input(shape=(8, 8, 3)), lk.layers.Conv2D(4, 3, padding="same", activation="relu"),
                           lk.layers.MaxPooling2D(2), lk.layers.Conv2D(5, 3, activation="tanh"),
                           lk.layers.Flatten(), lk.layers.Dense(3)])
    x = _rand(4, 8, 8, 3)

    def grads(x):
        with lk.GradientTape() as tape:
            y = ops.sum(ops.square(model(x)))
        return tape.gradient(y, model.trainable_weights)
    f = lk.function(grads)
    for a, b in zip(f(x), grads(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    fused = [n for n in f.get_graph(x).nodes if n.op.name == "conv2d_bias"]
    assert len(fused) == 2 and all(n.attrs["activation"] != -1 for n in fused)
    assert "conv2d" not in f.get_graph(x).kernel_counts()


@pytest.mark.parametrize("pool,strides,padding", [(2, 2, "valid"), (3, 2, "same"), (3, 1, "valid")])
def test_relu_mask_and_bias_sum_move_to_the_pooled_side_of_a_max_pool_gradient(pool, strides, padding):
    # overlapping windows, padding and ties (zeros from relu) included: the identities hold for all
    conv = lk.layers.Conv2D(3, 3, padding="same", activation="relu")
    pooling = lk.layers.MaxPooling2D(pool, strides=strides, padding=padding)
    x = _rand(2, 7, 7, 2)
    conv(x)

    def grads(x):
        with lk.GradientTape() as tape:
            y = ops.sum(ops.square(pooling(conv(x))) * ops.arange(3, dtype="float32"))
        return tape.gradient(y, conv.trainable_weights)
    f = lk.function(grads)
    for a, b in zip(f(x), grads(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    graph = f.get_graph(x)
    producers, pooled = graph.producers(), tuple(pooling.compute_output_shape((2, 7, 7, 3)))
    (pool_grad,) = [n for n in graph.nodes if n.op.name == "max_pool2d_grad"]
    mask = producers[pool_grad.inputs[1]]  # the relu mask, applied to the pooled gradient
    assert "relu_grad" in (mask.attrs.get("ops") or (mask.op.name,))
    assert graph.values[pool_grad.inputs[1]].shape == pooled
    (bias_sum,) = [n for n in graph.nodes if n.op.name == "sum" and graph.values[n.output].shape == (3,)]
    assert bias_sum.inputs == [pool_grad.inputs[1]]


def test_optimizer_updates_are_written_in_place_and_stay_correct():
    w = lk.Variable(np.ones((64, 64), "float32"))
    m = lk.Variable(np.zeros((64, 64), "float32"), trainable=False)

    def step(g):
        m.assign(m * 0.9 + g)
        w.assign_sub(0.1 * m)
        return w * 1.0  # a result read after the in-place writes: a copy, not the buffer

    f = lk.function(step)
    g = np.full((64, 64), 2.0, "float32")
    buffers = (w._data, m._data)
    out = f(g)
    assert "(in place)" in str(f.get_graph(g)) and (w._data, m._data) == buffers
    np.testing.assert_allclose(np.asarray(m), 2.0)
    np.testing.assert_allclose(np.asarray(w), 1 - 0.2, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out), np.asarray(w))
    f(g)
    np.testing.assert_allclose(np.asarray(out), 0.8, rtol=1e-6)  # the first result did not change
    np.testing.assert_allclose(np.asarray(m), 3.8, rtol=1e-6)


def test_a_function_called_while_another_is_traced_is_inlined_into_its_graph():
    w = lk.Variable(np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], "float32"))
    inner = lk.function(lambda x: ops.relu(ops.matmul(x, w)))

    def step(x):
        with lk.GradientTape() as tape:
            y = ops.sum(inner(x) * 2.0)
        return y, tape.gradient(y, w)
    outer = lk.function(step)
    x = np.random.default_rng(3).standard_normal((4, 3)).astype("float32")
    for a, b in zip(outer(x), step(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    assert outer.trace_count == 1 and inner.trace_count == 0  # inlined, not traced on its own
    np.testing.assert_allclose(np.asarray(inner(x)), np.maximum(x @ np.asarray(w), 0), rtol=1e-6)
    assert inner.trace_count == 1  # called on its own, it is a function of its own


def test_a_function_called_under_a_recording_tape_is_differentiated():
    w = lk.Variable(np.array([1.5, -0.5], "float32"))
    f = lk.function(lambda x: ops.sum(ops.tanh(x * w)))
    x = np.array([0.3, 2.0], "float32")
    with lk.GradientTape() as tape:
        y = f(x)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, w)), x * (1 - np.tanh(x * np.asarray(w)) ** 2), rtol=1e-6)
    assert f.trace_count == 0  # it ran op by op for the tape
    np.testing.assert_allclose(float(f(x)), float(y), rtol=1e-6)  # and compiles when no tape records
    assert f.trace_count == 1


def test_a_variable_returned_after_an_assign_returns_the_assigned_value():
    w = lk.Variable(np.ones(3, "float32"))

    def update(x):
        w.assign_add(x)
        return w, ops.sum(w)
    f = lk.function(update)
    first, total = f(np.ones(3, "float32"))
    np.testing.assert_array_equal(np.asarray(first), [2, 2, 2])  # as eagerly: the value after the update
    assert float(total) == 6.0
    second, _ = f(np.ones(3, "float32"))
    np.testing.assert_array_equal(np.asarray(second), [3, 3, 3])
    np.testing.assert_array_equal(np.asarray(first), [2, 2, 2])  # a copy: later updates leave it alone
    unchanged = lk.function(lambda: w)()
    w.assign(np.zeros(3, "float32"))
    np.testing.assert_array_equal(np.asarray(unchanged), [3, 3, 3])


def test_a_variables_value_in_a_traced_function_is_read_when_it_runs():
    w = lk.Variable(np.ones(2, "float32"))

    def step(x):
        old = w.value  # a snapshot: the assign below leaves it alone
        w.assign(w * 3.0)
        with lk.GradientTape() as tape:
            y = ops.sum(x * w.value)
        return old + w, tape.gradient(y, w)  # after the assign: the gradient of its new value, as eagerly
    f = lk.function(step)
    x = np.array([2.0, -1.0], "float32")
    for start in (1.0, 5.0):  # the value at each run, not the value at trace time
        w.assign(np.full(2, start, "float32"))
        total, grad = f(x)
        np.testing.assert_array_equal(np.asarray(total), [start * 4] * 2)
        np.testing.assert_array_equal(np.asarray(grad), x)
    assert f.trace_count == 1


def test_several_training_steps_in_one_function_equal_as_many_eager_steps():
    # each step differentiates with respect to the variables the step before assigned
    def make():
        return [lk.Variable(np.array([[0.5, -0.3], [0.2, 0.8]], "float32")), lk.Variable(np.zeros(2, "float32"))]

    def steps(params, x, y, n=3):
        losses = []
        for _ in range(n):
            with lk.GradientTape() as tape:
                loss = ops.mean(ops.square(ops.matmul(x, params[0]) + params[1] - y))
            for p, g in zip(params, tape.gradient(loss, params)):
                p.assign_sub(0.1 * g)
            losses.append(loss)
        return losses
    x = np.random.default_rng(8).standard_normal((6, 2)).astype("float32")
    y = np.random.default_rng(9).standard_normal((6, 2)).astype("float32")
    eager, compiled = make(), make()
    expected = steps(eager, lk.convert_to_tensor(x), lk.convert_to_tensor(y))
    f = lk.function(lambda x, y: steps(compiled, x, y))
    got = f(x, y)
    np.testing.assert_allclose([float(v) for v in got], [float(v) for v in expected], rtol=1e-6)
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_variables_value_is_differentiable_eagerly_and_compiled():
    w = lk.Variable(np.array([1.0, 2.0], "float32"))

    def grad(x):
        with lk.GradientTape() as tape:
            y = ops.sum(ops.square(w.value) * x)
        return tape.gradient(y, w)
    x = np.array([3.0, -1.0], "float32")
    for g in (grad(lk.convert_to_tensor(x)), lk.function(grad)(x)):
        np.testing.assert_array_equal(np.asarray(g), 2 * np.asarray(w) * x)
    snapshot = w.value
    w.assign(np.zeros(2, "float32"))
    np.testing.assert_array_equal(np.asarray(snapshot), [1.0, 2.0])  # a copy


def test_activity_losses_of_a_trace_do_not_outlive_it():
    model = lk.Sequential([lk.layers.Input((4,)), lk.layers.Dense(3, kernel_regularizer="l2",
                                                                  activity_regularizer="l1")])

    def step(x):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.square(model(x))) + sum(model.losses)
        return [loss] + tape.gradient(loss, model.trainable_weights)
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    for a, b in zip(lk.function(step)(x), step(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    lk.function(step)(x)  # a trace: its activity loss was a symbolic value of that trace
    assert all(isinstance(v, lk.Tensor) and not isinstance(v, lk.SymbolicTensor) for v in model.losses)
    assert len(model.losses) == 1  # the weight penalty, read from the current weights


def test_a_compiled_text_classifier_trains_exactly_as_eagerly():
    # masks, a bidirectional fused LSTM over padded sequences, dropout (the same draws: the seed
    # generator's state is a variable both advance), a smaller last batch, momentum updates
    def train(compiled):
        lk.utils.set_random_seed(3)
        model = lk.Sequential([
            lk.layers.Input((12,), dtype="int32"), lk.layers.Embedding(50, 8, mask_zero=True),
            lk.layers.Bidirectional(lk.layers.LSTM(6, return_sequences=True)), lk.layers.GlobalMaxPooling1D(),
            lk.layers.Dropout(0.3, seed=7), lk.layers.Dense(1, activation="sigmoid")])
        params = model.trainable_weights
        velocity = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]

        def step(x, y):
            with lk.GradientTape() as tape:
                loss = ops.mean(ops.binary_crossentropy(y, model(x, training=True)))
            for p, v, g in zip(params, velocity, tape.gradient(loss, params)):
                v.assign(v * 0.9 - g * 0.05)
                p.assign_add(v)
            return loss
        fn = lk.function(step, reduce_retracing=True) if compiled else step
        rng = np.random.default_rng(0)
        data = rng.integers(1, 50, (10, 12)).astype("int32")
        for i in range(10):
            data[i, 12 - i % 5:] = 0  # right padding of 0 to 4 steps
        labels = rng.integers(0, 2, (10, 1)).astype("float32")
        losses = []
        for _ in range(2):
            for lo, hi in ((0, 4), (4, 8), (8, 10)):
                x, y = data[lo:hi], labels[lo:hi]
                losses.append(float(fn(x, y) if compiled else fn(lk.convert_to_tensor(x), lk.convert_to_tensor(y))))
        return losses, [np.asarray(p) for p in params], fn
    eager_losses, eager_params, _ = train(False)
    losses, params, fn = train(True)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-6)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert fn.trace_count == 2  # the first batch, then once with the batch size unknown


def test_reading_a_value_inside_a_traced_function_is_explained():
    x = np.ones(3, "float32")
    with pytest.raises(TypeError, match="cannot be converted to a Python float"):
        lk.function(lambda t: t * float(ops.sum(t)))(x)
    with pytest.raises(TypeError, match="cannot be converted to a Python int"):
        lk.function(lambda t: t * int(ops.sum(t)))(x)
    with pytest.raises(TypeError, match="no data to convert to numpy"):
        lk.function(lambda t: np.asarray(t) * 2)(x)


def test_calls_whose_arguments_nest_differently_trace_apart():
    # the cache key once held only the leaves: a dict with other keys, or a list where a tuple
    # was traced, reused the first trace
    a, b = np.ones(3, "float32"), np.full(3, 5.0, "float32")
    f = lk.function(lambda d: d["x"] * d["weight"] if "weight" in d else d["x"] + d["bias"])
    np.testing.assert_array_equal(f({"x": a, "weight": b}), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(f({"x": a, "bias": b}), [6.0, 6.0, 6.0])
    g = lk.function(lambda xs: ops.stack(xs) if isinstance(xs, list) else xs[0] + xs[1])
    np.testing.assert_array_equal(g((a, b)), [6.0, 6.0, 6.0])
    assert g([a, b]).shape == (2, 3)
    assert f.trace_count == 2 and g.trace_count == 2


def test_unhashable_python_arguments_never_share_a_trace():
    # keyed by id() alone, a freed object's id was taken by the next one, and its trace reused
    class Config:
        def __init__(self, scale):
            self.scale = scale

        def __eq__(self, other):  # defines equality, so not hashable
            return isinstance(other, Config) and other.scale == self.scale

    f = lk.function(lambda x, config: x * config.scale)
    x = np.ones(2, "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one trace per object: the retracing warning is expected
        got = [float(np.asarray(f(x, Config(float(i))))[0]) for i in range(8)]
    assert got == [float(i) for i in range(8)]


@pytest.mark.parametrize("reps", [(2, 1), (1, 3), (2, 2), (3,)])
def test_tile_works_compiled_over_an_unknown_batch(reps):
    x = np.arange(12, dtype="float32").reshape(3, 4)
    f = lk.function(lambda x: ops.tile(x, reps), input_signature=[lk.TensorSpec((None, 4), "float32")])
    np.testing.assert_array_equal(f(x), np.tile(x, reps))  # once int(None) inside broadcast_to


def test_filling_a_shape_with_unknown_sizes_says_what_to_use_instead():
    spec = [lk.TensorSpec((None, 4), "float32")]
    with pytest.raises(ValueError, match=r"^ones: the shape \(None, 4\) has unknown dimensions.*ops.ones_like\(x\)"):
        lk.function(lambda x: ops.ones(ops.shape(x)), input_signature=spec)(np.ones((3, 4), "float32"))
    with pytest.raises(ValueError, match=r"^broadcast_to: the target shape \(None, 4\) has unknown dimensions"):
        lk.function(lambda x: ops.broadcast_to(ops.ones((1, 4)), ops.shape(x)),
                    input_signature=spec)(np.ones((3, 4), "float32"))


def test_arithmetic_on_bools_is_refused_compiled_as_eagerly_naming_the_op():
    b = np.array([True, False])
    for op in (ops.add, ops.maximum):
        with pytest.raises(TypeError, match=f"^{op.__name__}: expected a numeric array, received bool"):
            lk.function(lambda x: op(x, x))(b)  # once named after the plan's step ("binary")


def test_variables_are_created_on_the_first_trace_only_and_persist():
    def accumulate(x):
        acc = lk.Variable(np.zeros(x.shape, "float32"), name="acc")
        acc.assign_add(x)
        return acc * 2.0
    f = lk.function(accumulate)
    got = [np.asarray(f(np.ones(3, "float32"))) for _ in range(3)]
    np.testing.assert_array_equal(got, [[2.0] * 3, [4.0] * 3, [6.0] * 3])  # one variable, as tf.function's
    with pytest.raises(ValueError, match=r"created variables \(acc.*\) when traced again"):
        f(np.ones(4, "float32"))  # a new shape: a second trace would make a second variable
    model = lk.Sequential([lk.layers.Dense(2)])
    g = lk.function(lambda x: model(x))  # built on the first trace; later traces reuse its weights
    assert g(np.ones((1, 3), "float32")).shape == (1, 2) and g(np.ones((4, 3), "float32")).shape == (4, 2)


def test_python_values_passed_for_an_input_signature_become_its_tensors():
    f = lk.function(lambda x: x * 2.0, input_signature=[lk.TensorSpec((3,), "float32")])
    np.testing.assert_array_equal(f([1.0, 2.0, 3.0]), [2.0, 4.0, 6.0])  # "called with tensors []" before
    with pytest.raises(ValueError, match=r"called with tensors \[\(\(2,\), 'float32'\)\], which do not match"):
        f([1.0, 2.0])


def test_one_value_assigned_to_two_variables_reaches_both():
    # written in place into a by its fused node, the value's write-back to b was dropped
    a, b = lk.Variable(np.full(3, 1.0, "float32")), lk.Variable(np.zeros(3, "float32"))

    def step(x):
        y = a * 2.0 + x
        a.assign(y)
        b.assign(y)
        return x
    lk.function(step)(np.ones(3, "float32"))
    np.testing.assert_array_equal(a.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 3.0, 3.0])


def test_a_tape_stops_at_an_assigned_variable_as_eagerly():
    # eagerly a variable is a leaf after an assign; compiled, the gradient flowed on into the value
    def make(v):
        def f(x):
            with lk.GradientTape() as tape:
                tape.watch(x)
                v.assign_add(x * 3.0)
                loss = ops.sum(v * x)
            return tape.gradient(loss, [x, v])
        return f
    x = np.array([1.0, -1.0, 0.5], "float32")
    eager = make(lk.Variable(np.full(3, 2.0, "float32")))(lk.convert_to_tensor(x))
    compiled = lk.function(make(lk.Variable(np.full(3, 2.0, "float32"))))(x)
    for got, expected in zip(compiled, eager):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(compiled[0]), [5.0, -1.0, 3.5])  # v's new value, not d(v)/dx too


def test_broadcast_gradients_are_summed_when_a_size_is_known_only_at_run_time():
    # sum_to compared (None, 5) with (None, 5) while tracing and reduced nothing: a y of (1, 5)
    # broadcast against (3, 5) got a (3, 5) gradient of ones instead of (1, 5) of threes
    @lk.function(reduce_retracing=True)
    def grad(x, y):
        with lk.GradientTape() as tape:
            tape.watch([x, y])
            loss = ops.sum(x * y + y)
        return tape.gradient(loss, [x, y])
    x = np.full((3, 5), 2.0, "float32")
    grad(x, np.ones((3, 5), "float32"))
    dx, dy = grad(x, np.ones((1, 5), "float32"))  # traced again with y (None, 5)
    assert dy.shape == (1, 5) and dx.shape == (3, 5)
    np.testing.assert_array_equal(dy, np.full((1, 5), 9.0))
    spec = [lk.TensorSpec((None, None), "float32")] * 2
    dx, dy = lk.function(grad.fn, input_signature=spec)(np.ones((4, 1), "float32"), np.ones((1, 5), "float32"))
    assert dx.shape == (4, 1) and dy.shape == (1, 5)
    np.testing.assert_array_equal(dx, np.full((4, 1), 5.0))
    np.testing.assert_array_equal(dy, np.full((1, 5), 8.0))


def test_iterating_a_tensor_of_unknown_length_in_a_trace_is_refused_not_endless():
    f = lk.function(lambda x: ops.stack([row * 2.0 for row in x]), input_signature=[lk.TensorSpec((None, 3))])
    with pytest.raises(TypeError, match=r"iteration over a symbolic tensor of shape \(None, 3\).*ops.scan"):
        f(np.ones((4, 3), "float32"))  # once spun forever: getitem on an unknown size never raised IndexError
    g = lk.function(lambda x: ops.stack([row * 2.0 for row in x]))
    np.testing.assert_array_equal(g(np.ones((2, 3), "float32")), np.full((2, 3), 2.0))


def test_numpy_integer_arguments_are_python_values_and_symbolic_tensors_have_no_value():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    assert lk.function(lambda x, r: ops.tile(x, r))(x, np.int64(2)).shape == (2, 6)  # once (2, 3)
    assert len(lk.function(lambda x, k: ops.split(x, k, axis=1))(x, np.int64(3))) == 3  # once 1
    with pytest.raises(TypeError, match="has no value to read"):
        lk.function(lambda x: x.numpy())(x)
    with pytest.raises(TypeError, match="has no value to format with '.2f'"):
        lk.function(lambda x: f"{x:.2f}")(x)


def test_misaligned_and_big_endian_arrays_are_taken_as_eagerly():
    raw = np.zeros(81, np.uint8)[1:].view("float32").reshape(4, 5)  # an odd byte offset: not aligned
    raw[...] = 1.0
    big = np.arange(6, dtype=">f4").reshape(2, 3)
    f = lk.function(lambda a: ops.sum(a * 2.0))
    assert not raw.flags.aligned and float(f(raw)) == 40.0 and float(f(raw)) == 40.0
    assert float(f(big)) == 30.0 and float(ops.sum(lk.convert_to_tensor(big))) == 15.0


_UNKNOWN_BATCH_OPS = {
    "pad": lambda x: ops.pad(x, [[1, 2], [0, 1]]),
    "slice from 1": lambda x: x[1:],
    "first row": lambda x: x[0],
    "last row": lambda x: x[-1],
    "slice to -1": lambda x: x[:-1],
    "concatenate axis 0": lambda x: ops.concatenate([x, x * 2.0], axis=0),
    "tile": lambda x: ops.tile(x, (2, 1)),
    "repeat axis 0": lambda x: ops.repeat(x, 2, axis=0),
    "repeat axis 1": lambda x: ops.repeat(x, 2, axis=1),
    "take": lambda x: ops.take(x, np.array([0, 1, 1]), axis=0),
    "take_along_axis": lambda x: ops.take_along_axis(x, np.zeros((1, 3), "int32"), axis=0),
}


@pytest.mark.parametrize("name", sorted(_UNKNOWN_BATCH_OPS))
def test_ops_and_their_gradients_run_compiled_over_an_unknown_batch(name):
    # each raised once (int + None in its gradient, or "cannot infer the output shape") when the
    # batch was None: a smaller last batch with ZeroPadding2D or a slice in the model
    fn = _UNKNOWN_BATCH_OPS[name]

    def grad(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            loss = ops.sum(y * y)
        return y, tape.gradient(loss, x)
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    compiled = lk.function(grad, input_signature=[lk.TensorSpec((None, 3))])
    for got, expected in zip(compiled(x), grad(lk.convert_to_tensor(x))):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6)


def test_a_gradient_through_a_variable_assigned_after_the_tape_read_it_is_refused_compiled_as_eagerly():
    v = lk.Variable(np.array([0.0, 1.0, 2.0], "float32"), name="v")

    def step(x):
        with lk.GradientTape() as tape:
            y = v * v
            v.assign(v + x)
            loss = ops.sum(y * v)
        return tape.gradient(loss, v)
    for run in (lambda: step(lk.convert_to_tensor(np.ones(3, "float32"))),
                lambda: lk.function(step)(np.ones(3, "float32"))):  # compiled: once [0, 1, 4], the v*v path dropped
        with pytest.raises(RuntimeError, match="variable 'v' was assigned after the tape recorded 'multiply'"):
            run()


def test_flattening_over_an_unknown_batch_and_debugging_helpers_explain_misuse():
    spec = [lk.TensorSpec((None, 4, 3))]
    flat = lk.function(lambda x: ops.reshape(x, (ops.shape(x)[0], -1)), input_signature=spec)
    assert flat(np.ones((2, 4, 3), "float32")).shape == (2, 12)  # once "at most one -1 ... (-1, -1)"
    unknown = lk.function(lambda x: ops.reshape(x, (ops.shape(x)[0], -1)), input_signature=[lk.TensorSpec((None,) * 3)])
    with pytest.raises(ValueError, match=r"newshape` \(None, -1\) has more than one unknown size"):
        unknown(np.ones((2, 4, 3), "float32"))
    with pytest.raises(TypeError, match="expected a function made by lk.function"):
        lk.debugging.kernel_counts(lambda x: x, np.ones(2, "float32"))
    f = lk.function(lambda x, s: ops.relu(x * s), input_signature=[lk.TensorSpec((None, 3)), lk.TensorSpec(())])
    assert lk.debugging.profile(f, [[1.0, 2.0, 3.0]], 2.0)  # Python values converted as a call does


def test_groups_whose_unknown_sizes_differ_at_run_time_are_not_run_as_one_pass():
    # (None, 2) from a reshape and (None, 2) from a slice printed alike when traced and were fused
    # into one pass over one shape: the smaller result came out broadcast, or a broadcast error
    def f(x):
        a = ops.reshape(x, (-1, 2))  # 2 * batch rows
        b = x[:, :2]  # batch rows
        return ops.exp(a) * 2.0, ops.tanh(b) + 1.0
    g = lk.function(f, input_signature=[lk.TensorSpec((None, 4))])
    for n in (1, 2, 3):
        x = np.arange(4 * n, dtype="float32").reshape(n, 4) / 10
        for got, expected in zip(g(x), f(lk.convert_to_tensor(x))):
            assert got.shape == expected.shape
            np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6)

    model_in = lk.layers.Input(shape=(None, 1))
    h0 = lk.layers.Conv1D(1, 1)(model_in)
    h = lk.layers.Maximum()([lk.layers.Dense(1)(h0), lk.layers.Activation("relu")(h0)])
    h = lk.layers.Conv1D(1, 1, strides=2, padding="same")(h)
    model = lk.Model(model_in, lk.layers.GlobalMaxPooling1D()(h))

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.square(model(x) - y))
        return tape.gradient(loss, model.trainable_weights)
    compiled = lk.function(step, input_signature=[lk.TensorSpec((None, None, 1)), lk.TensorSpec((None, 1))])
    rng = np.random.default_rng(0)
    for batch, length in [(2, 1), (1, 2), (1, 3)]:  # gradients doubled, then a broadcast error, before
        x = rng.uniform(-2, 2, (batch, length, 1)).astype("float32")
        y = rng.uniform(-1, 1, (batch, 1)).astype("float32")
        for got, expected in zip(compiled(x, y), step(lk.convert_to_tensor(x), lk.convert_to_tensor(y))):
            np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["UpSampling1D", "UpSampling2D"])
def test_upsampling_trains_compiled_over_unknown_spatial_sizes(layer):
    # repeated as stack + reshape with each unknown size as -1: two of them made two -1s
    rank = 1 if layer == "UpSampling1D" else 2
    up = getattr(lk.layers, layer)(2)
    conv = getattr(lk.layers, f"Conv{rank}D")(1, 3, padding="same")

    def step(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            loss = ops.sum(ops.square(conv(up(x))))
        return loss, tape.gradient(loss, [x] + conv.trainable_weights)
    x = np.random.default_rng(0).standard_normal((2,) + (5, 6)[:rank] + (2,)).astype("float32")
    step(lk.convert_to_tensor(x))
    compiled = lk.function(step, input_signature=[lk.TensorSpec((None,) * (rank + 1) + (2,))])
    got, expected = compiled(x), step(lk.convert_to_tensor(x))
    np.testing.assert_allclose(np.asarray(got[0]), np.asarray(expected[0]), rtol=1e-5)
    for a, b in zip(got[1], expected[1]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


def test_an_activity_regularizer_averages_over_an_unknown_batch_compiled():
    model = lk.Sequential([lk.layers.Input(shape=(3,)), lk.layers.Dense(2, activity_regularizer="l2")])

    def total(x):
        model(x)
        return ops.sum(ops.stack(model.losses))
    x = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
    expected = float(total(lk.convert_to_tensor(x)))
    compiled = lk.function(total, input_signature=[lk.TensorSpec((None, 3), "float32")])
    np.testing.assert_allclose(float(compiled(x)), expected, rtol=1e-6)  # once: None as a divisor
