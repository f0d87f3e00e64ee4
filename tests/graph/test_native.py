"""The native plan executor: lowering, arena planning, callbacks, shapes, errors and threads.
Every lk.function test elsewhere runs through it too; here each result is also compared with the
Python plan (same kernels, so the results are identical)."""
import threading

import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.backend import core
from layerkit.graph import native
from layerkit.graph.executor import PythonPlan
from layerkit.ops.primitive import REGISTRY


def _rand(*shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _both(fn, *args):
    """(native results, python-plan results) of lk.function(fn) on `args`, from the same state."""
    f = lk.function(fn)
    concrete = f.get_concrete_function(*args)
    assert isinstance(concrete.plan, native.NativeExecutor)
    arrays = [np.asarray(a) for a in args]
    return concrete.plan.run(arrays), PythonPlan(concrete.graph).run(arrays), concrete


# ---- arena placement ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_placement_never_overlaps_buffers_alive_together(seed):
    rng = np.random.default_rng(seed)
    n = 60
    sizes = rng.integers(1, 5000, n).tolist()
    starts = rng.integers(0, 40, n)
    lives = [(int(s), int(s + rng.integers(0, 10))) for s in starts]
    offsets, total = native._place(sizes, lives)
    for i in range(n):
        assert offsets[i] % native.ALIGN == 0
        assert offsets[i] + sizes[i] <= total
        for j in range(i):
            alive_together = lives[i][0] <= lives[j][1] and lives[j][0] <= lives[i][1]
            disjoint = offsets[i] + sizes[i] <= offsets[j] or offsets[j] + sizes[j] <= offsets[i]
            assert disjoint or not alive_together, (i, j)
    assert total < sum(-(-s // native.ALIGN) * native.ALIGN for s in sizes)


def test_a_chain_of_values_reuses_two_buffers():
    def f(x):
        for _ in range(8):
            x = ops.matmul(x, x)  # not fusible: every value is a buffer of its own
        return x
    x = _rand(32, 32) * 0.1
    got, ref, concrete = _both(f, x)
    np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(ref[0]))
    mem = concrete.plan.memory([x])
    assert mem["values_bytes"] == 8 * 32 * 32 * 4
    assert mem["arena_bytes"] <= 2 * 32 * 32 * 4  # the live value and the one being made


# ---- results equal the Python plan's ---------------------------------------------------------
def _mlp_step():
    model = lk.Sequential([lk.layers.Input(shape=(12,)), lk.layers.Dense(16, activation="relu"),
                           lk.layers.Dense(16, activation="tanh"), lk.layers.Dense(5)])
    params = model.trainable_weights
    m = [lk.Variable(np.zeros(p.shape, "float32")) for p in params]

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.sparse_softmax_cross_entropy(y, model(x)))
        for p, g, mi in zip(params, tape.gradient(loss, params), m):
            mi.assign(mi * 0.9 + g)
            p.assign_sub(mi * 0.1)
        return loss
    return step, params


def test_training_step_equals_the_python_plan_and_updates_variables_once():
    step, params = _mlp_step()
    x, y = _rand(8, 12), np.arange(8, dtype="int32") % 5
    f = lk.function(step)
    concrete = f.get_concrete_function(x, y)
    before = [np.asarray(p).copy() for p in params]
    loss_native = np.asarray(f(x, y))
    after_native = [np.asarray(p).copy() for p in params]
    for p, b in zip(params, before):  # rewind, then the same step on the Python plan
        p.assign(b)
    for v in concrete.graph.values:
        if v.kind == "variable" and all(v.ref is not p for p in params):
            v.ref.assign(np.zeros(v.ref.shape, "float32"))
    loss_python = np.asarray(PythonPlan(concrete.graph).run([x, y])[0])
    assert loss_native == loss_python
    for p, a in zip(params, after_native):
        np.testing.assert_array_equal(np.asarray(p), a)
    assert not concrete.plan.python_steps([x, y])
    assert any(not np.array_equal(a, b) for a, b in zip(after_native, before))


def test_convolution_step_runs_natively_and_equals_the_python_plan():
    conv = lk.layers.Conv2D(4, 3, padding="same", activation="relu")
    pool = lk.layers.MaxPooling2D(2)

    def f(x):
        with lk.GradientTape() as tape:
            loss = ops.sum(ops.softmax(ops.reshape(pool(conv(x)), (2, -1))))
        return loss, tape.gradient(loss, conv.trainable_weights)
    x = _rand(2, 8, 8, 3)
    conv(x)
    got, ref, concrete = _both(f, x)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not concrete.plan.python_steps([x])


def test_slices_concatenation_padding_and_gathers():
    table = lk.Variable(_rand(10, 4))

    def f(x, idx):
        with lk.GradientTape() as tape:
            e = ops.take(table, idx, axis=0)                     # gather
            parts = [e[:, :2] * 2.0, e[:, 2:] + 1.0, e[::-1, 1:3]]  # strided slices
            z = ops.concatenate(parts, axis=1)
            z = ops.pad(z, [(1, 0), (0, 2)], constant_values=0.5)
            z = ops.transpose(z) @ ops.broadcast_to(x, (7, 3))
            loss = ops.sum(z * z) + ops.max(z) - ops.argmax(ops.sum(z, axis=1)).astype("float32")
        return loss, tape.gradient(loss, table)
    x, idx = _rand(3), np.array([3, 1, 4, 1, 5, 9], "int32")
    got, ref, concrete = _both(f, x, idx)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not concrete.plan.python_steps([x, idx])
    eager = f(lk.convert_to_tensor(x), lk.convert_to_tensor(idx))
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(eager[1]), rtol=1e-5, atol=1e-5)


def test_every_primitive_has_a_native_rule_or_is_a_view_or_a_known_exception():
    covered = set(native.RULES) | native._ALIAS_OPS | native._LOOP_OPS | {"random"}
    assert set(REGISTRY) <= covered, sorted(set(REGISTRY) - covered)
    steps = set(core.native_step_names())
    x = native.Spec((2, 3), "float32")
    for name in ("add", "exp", "sum", "matmul", "linear", "conv2d", "softmax", "getitem", "take"):
        assert name in native.RULES
    assert {"unary", "binary", "where", "cast", "matmul", "linear", "reduce", "arg_reduce", "strided_copy",
            "scatter_slices", "gather", "scatter_add", "fused_elementwise", "conv2d", "max_pool2d",
            "softmax"} <= steps
    assert native.RULES["exp"]({}, [x], [x])[0] in steps


# ---- Python callbacks, shapes, errors, threads --------------------------------------------------
def test_a_random_draw_runs_as_a_python_step_with_new_values_per_call():
    gen = lk.random.SeedGenerator(3)
    f = lk.function(lambda x: x * lk.random.uniform((64,), seed=gen))
    x = np.ones(64, "float32")
    a, b = np.asarray(f(x)), np.asarray(f(x))
    assert not np.array_equal(a, b) and 0.0 <= a.min() and a.max() < 1.0
    labels = f.get_concrete_function(x).plan.python_steps([x])
    assert labels and all(label.startswith("random") for label in labels)


def test_unknown_batch_size_builds_one_plan_per_shape():
    w = lk.Variable(_rand(4, 3))
    f = lk.function(lambda x: ops.relu(x @ w + 1.0), input_signature=[lk.TensorSpec((None, 4))])
    for n in (2, 5, 2):
        x = _rand(n, 4, seed=n)
        np.testing.assert_allclose(np.asarray(f(x)), np.maximum(x @ np.asarray(w) + 1.0, 0), rtol=1e-6)
    plan = f.get_concrete_function(_rand(2, 4))
    assert len(plan.plan._plans) == 2


def test_a_failing_python_step_raises_its_error_and_the_plan_stays_usable():
    calls = []

    def forward(x):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("boom from a callback")
        return x + 1.0
    slots = [(0, [3], 1, 0), (0, [3], 0, 0)]
    callbacks = [forward]  # borrowed by the plan: kept alive here
    plan = core.NativePlan(slots, [], 64, [("python", [0], [], [0], [1])], callbacks, 1, 0, [1], [])
    x = np.arange(3, dtype="float32")
    with pytest.raises(ValueError, match="boom from a callback"):
        plan.run([x], [])
    np.testing.assert_array_equal(plan.run([x], [])[0], x + 1.0)


@pytest.mark.parametrize("slots, message", [
    ([(0, [3], 0, 32)], "misaligned"),
    ([(0, [3], 0, 0), (0, [4], 4, 0)], "byte size"),
    ([(0, [3], 4, 0)], "earlier slot"),
    ([(9, [3], 0, 0)], "dtype code"),
    ([(0, [-1], 0, 0)], "negative"),
])
def test_malformed_plans_are_refused_at_build(slots, message):
    with pytest.raises(ValueError, match=message):
        core.NativePlan(slots, [], 64, [], [], 0, 0, [], [])


def test_malformed_steps_are_refused_at_build_naming_the_step():
    slots = [(0, [3], 1, 0), (0, [4], 0, 0)]
    with pytest.raises(ValueError, match="binary"):
        core.NativePlan(slots, [], 64, [("binary", [0], [], [0, 0], [1])], [], 1, 0, [1], [])
    with pytest.raises(ValueError, match="no native step named 'nope'"):
        core.NativePlan(slots, [], 64, [("nope", [], [], [0], [1])], [], 1, 0, [1], [])


def test_a_scan_step_runs_its_step_plan_per_element_and_refuses_what_does_not_fit():
    from layerkit.graph.fusion import _B

    # the step: carry + x, returned as the new carry and as the step's output
    body = core.NativePlan([(0, [3], 1, 0), (0, [3], 1, 1), (0, [3], 0, 0)], [], 64,
                           [("binary", [_B.index("add")], [], [0, 1], [2])], [], 2, 0, [2, 2], [])
    slots = [(0, [3], 1, 0), (0, [4, 3], 1, 1), (0, [3], 0, 0), (0, [4, 3], 0, 64), (0, [4, 3], 0, 128)]

    def plan(ints, callbacks=(body,)):
        return core.NativePlan(slots, [], 192, [("scan", ints, [], [0, 1], [2, 3, 4])], list(callbacks), 2, 0,
                               [2, 3, 4], [])
    x0, xs = np.arange(3, dtype="float32"), np.arange(12, dtype="float32").reshape(4, 3)
    for reverse in (0, 1):
        final, ys, history = plan([0, 1, 1, 4, reverse, 0, 1, 2]).run([x0, xs], [])
        order = xs[::-1] if reverse else xs
        sums = x0 + np.cumsum(order, axis=0)
        np.testing.assert_array_equal(final, sums[-1])
        np.testing.assert_array_equal(ys, sums[::-1] if reverse else sums)  # y_i belongs to element i
        entered = np.concatenate([x0[None], sums[:-1]])
        np.testing.assert_array_equal(history, entered[::-1] if reverse else entered)
    with pytest.raises(ValueError, match="^scan: an operand's size does not fit"):
        plan([0, 1, 1, 5, 0, 0, 1, 2])
    with pytest.raises(ValueError, match="^scan: a result slot does not fit"):
        plan([0, 1, 1, 4, 0, 2, 1, 2])  # the stacked history into the final carry's slot
    with pytest.raises(ValueError, match="^scan: malformed"):
        plan([0, 1, 1, 4, 0, 0, 1, 7])  # no result 7
    with pytest.raises(ValueError, match="^scan: malformed"):
        plan([0, 1, 1, 4, 0, 0, 1])
    with pytest.raises(TypeError, match="^scan: the loop's step must be a NativePlan"):
        plan([0, 1, 1, 4, 0, 0, 1, 2], callbacks=(len,))


def test_a_while_step_runs_its_plans_until_the_condition_fails_and_refuses_what_does_not_fit():
    from layerkit.graph.fusion import _B

    # condition: sum(v) < limit (a free input); body: v * 2
    cond = core.NativePlan([(0, [2], 1, 0), (0, [], 1, 1), (0, [], 0, 0), (4, [], 0, 64)], [], 128,
                           [("reduce", [0, 1, 2, 1], [], [0], [2]), ("binary", [_B.index("less")], [], [2, 1], [3])], [], 2,
                           0, [3], [])
    two = np.array(2.0, "float32")
    body = core.NativePlan([(0, [2], 1, 0), (0, [], 3, 0), (0, [2], 0, 0)], [two], 64,
                           [("binary", [_B.index("multiply")], [], [0, 1], [2])], [two], 1, 0, [2], [])
    slots = [(0, [2], 1, 0), (0, [], 1, 1), (0, [2], 0, 0)]

    def plan(ints, callbacks=(cond, body)):
        return core.NativePlan(slots, [], 64, [("while", ints, [], [0, 1], [2])], list(callbacks), 2, 0, [2], [])
    v, limit = np.array([1.0, 2.0], "float32"), np.array(50.0, "float32")
    np.testing.assert_array_equal(plan([0, 1, 1, -1, 1, 0, 0, 0]).run([v, limit], [])[0], [32.0, 64.0])
    np.testing.assert_array_equal(plan([0, 1, 1, 2, 1, 0, 0, 0]).run([v, limit], [])[0], [4.0, 8.0])  # at most 2
    with pytest.raises(ValueError, match="^while: malformed"):
        plan([0, 1, 1, -1, 1, 5, 0, 0])  # a free input that does not exist
    with pytest.raises(ValueError, match="^while: the loop's plans do not fit"):
        plan([0, 1, 1, -1, 0, 0, 0])  # the condition reads the limit: it must be passed
    with pytest.raises(TypeError, match="^while: the loop's step must be a NativePlan"):
        plan([0, 1, 1, -1, 1, 0, 0, 0], callbacks=(cond, len))


def test_a_function_with_one_plan_still_takes_other_shapes_and_strided_arrays():
    # the executor hands arrays straight to its only plan, which checks them; what it refuses
    # before running takes the general path (a contiguous copy, or a plan for the new shape)
    f = lk.function(lambda x: ops.sum(x * 2.0, axis=0), input_signature=[lk.TensorSpec((None, 3), "float32")])
    x = np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_array_equal(np.asarray(f(x)), (x * 2).sum(0))
    strided = np.arange(24, dtype="float32").reshape(3, 8)[:, ::2].T[:, :3]  # (4, 3), not contiguous
    np.testing.assert_array_equal(np.asarray(f(strided)), (strided * 2).sum(0))
    np.testing.assert_array_equal(np.asarray(f(x[:2].copy())), (x[:2] * 2).sum(0))
    assert len(f.get_concrete_function(x).plan._plans) == 2


def test_arguments_that_do_not_fit_the_plan_are_refused():
    plan = core.NativePlan([(0, [3], 1, 0), (0, [3], 0, 0)], [], 64, [("unary", [6], [], [0], [1])], [], 1, 0,
                           [1], [])
    with pytest.raises(ValueError, match="argument"):
        plan.run([np.zeros(4, "float32")], [])
    with pytest.raises(ValueError, match="argument"):
        plan.run([np.zeros(3, "float64")], [])
    with pytest.raises(ValueError, match="wrong number"):
        plan.run([], [])
    np.testing.assert_allclose(plan.run([np.zeros(3, "float32")], [])[0], np.ones(3))


def test_out_of_range_indices_raise_not_crash():
    f = lk.function(lambda t, i: ops.take(t, i, axis=0))
    t = _rand(5, 2)
    np.testing.assert_array_equal(np.asarray(f(t, np.array([4, 0], "int32"))), t[[4, 0]])
    with pytest.raises(ValueError, match="out of bounds"):
        f(t, np.array([5, 0], "int32"))


def test_concurrent_calls_from_threads_get_their_own_results():
    w = lk.Variable(_rand(64, 64) * 0.1)
    f = lk.function(lambda x: ops.tanh(x @ w) * 2.0)
    xs = [_rand(32, 64, seed=s) for s in range(4)]
    expected = [np.asarray(f(x)) for x in xs]
    results = [None] * 4

    def work(k):
        for _ in range(20):
            results[k] = np.asarray(f(xs[k]))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(r, e)


@pytest.mark.parametrize("rows, cols", [(3, 5), (1100, 64), (1100, 10), (70000, 1)])
def test_fused_loads_of_every_kind_over_many_blocks_and_threads(rows, cols):
    # x: read in place; b: a bias row (filled once when cols divides the block); c: a column
    # (gathered); s: a scalar; 0.5: a constant — over more than one block and one thread's chunk
    def f(x, b, c, s):
        return ops.relu(x + b) * s + c * 0.5, ops.greater(x, b)
    x, b, c = _rand(rows, cols), _rand(cols, seed=1), _rand(rows, 1, seed=2)
    s = np.float32(1.5)
    (y, mask), = [lk.function(f)(x, b, c, s)]
    assert "fused_elementwise" in lk.function(f).get_graph(x, b, c, s).kernel_counts()
    np.testing.assert_allclose(np.asarray(y), np.maximum(x + b, 0) * s + c * np.float32(0.5), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(mask), x > b)


def test_in_place_update_reading_the_variable_late_in_the_program():
    # the variable is loaded after other work and updated in place: every read of a block must
    # come before the write to it
    v = lk.Variable(_rand(300, 70))
    old = np.asarray(v).copy()

    def f(g):
        v.assign(ops.sqrt(ops.square(g) + 1.0) * 0.5 + v * 0.9 - v * v * 0.01)
        return ops.sum(v)
    g = _rand(300, 70, seed=4)
    lk.function(f)(g)
    np.testing.assert_allclose(np.asarray(v), np.sqrt(g * g + 1) * 0.5 + old * 0.9 - old * old * 0.01, rtol=1e-5,
                               atol=1e-6)


def test_a_view_of_the_old_value_is_not_overwritten_by_an_in_place_update():
    v = lk.Variable(np.ones(4, "float32"))

    def f(x):
        old = ops.reshape(v, (2, 2))  # a view of the variable's buffer
        v.assign(v * 2.0 + x)
        return old
    np.testing.assert_array_equal(np.asarray(lk.function(f)(np.zeros(4, "float32"))), np.ones((2, 2)))
    np.testing.assert_array_equal(np.asarray(v), np.full(4, 2.0))


def test_training_steps_with_dropout_and_recurrent_sequences_trace_for_any_batch():
    # sizes known only at run time: a dropout mask drawn like its input, a sequence's slice
    # gradient scattered into the unknown batch
    model = lk.Sequential([lk.layers.Input((5, 3)), lk.layers.LSTM(4, return_sequences=True),
                           lk.layers.GlobalAveragePooling1D(), lk.layers.Dropout(0.5, seed=2), lk.layers.Dense(2)])

    def step(x):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.square(model(x, training=True)))
        return [loss] + tape.gradient(loss, model.trainable_weights)
    f = lk.function(step, input_signature=[lk.TensorSpec((None, 5, 3), "float32")])
    for batch in (3, 8):
        x = _rand(batch, 5, 3, seed=batch)
        runs = [f(x) for _ in range(4)]
        assert all(np.isfinite(np.asarray(g)).all() for g in runs[0])
        assert len({float(r[0]) for r in runs}) > 1  # a new mask per run (four equal masks: ~1e-11)
    assert f.trace_count == 1
    dropped = lk.function(lambda x: lk.random.dropout(x, 0.5, seed=lk.random.SeedGenerator(4)),
                          input_signature=[lk.TensorSpec((None, 1000), "float32")])
    y = np.asarray(dropped(np.ones((6, 1000), "float32")))
    assert y.shape == (6, 1000) and set(np.unique(y)) <= {0.0, 2.0} and 0.45 < (y == 0).mean() < 0.55


# ---- empty batches ---------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((0, 4), (4,)), ((2, 0, 4), (4,)), ((0, 1), (1, 4)), ((3, 0), (1, 0))])
def test_a_fused_broadcast_over_an_empty_batch_gives_an_empty_result(shapes):
    # the fused kernel once divided by the empty dimension (SIGFPE) while planning its loads
    x, b = np.zeros(shapes[0], "float32"), np.ones(shapes[1], "float32")
    fn = lambda x, b: ops.relu(x * b) + ops.where(x > 0, x, b)
    got = lk.function(fn)(x, b)
    assert got.shape == fn(lk.convert_to_tensor(x), lk.convert_to_tensor(b)).shape


def test_a_scan_over_empty_carries_and_an_rnn_on_an_empty_batch_run_compiled():
    # a result of 0 bytes was refused as not fitting the loop
    f = lambda xs: ops.scan(lambda c, x: (c + x, c * 2.0), ops.zeros((0,)), xs)
    assert [tuple(t.shape) for t in lk.function(f)(np.zeros((5, 0), "float32"))] == [(0,), (5, 0)]
    rnn = lk.layers.SimpleRNN(3)
    rnn(np.ones((1, 4, 2), "float32"))
    assert lk.function(lambda x: rnn(x))(np.zeros((0, 4, 2), "float32")).shape == (0, 3)


@pytest.mark.parametrize("layer", ["BatchNormalization", "LayerNormalization"])
def test_normalization_layers_run_compiled_on_an_empty_batch(layer):
    norm = getattr(lk.layers, layer)()
    norm(np.ones((2, 4), "float32"))
    empty = np.zeros((0, 4), "float32")
    assert lk.function(lambda x: norm(x, training=True))(empty).shape == (0, 4)


# ---- write-backs reading other variables' buffers ----------------------------------------------
@pytest.mark.parametrize("read", [lambda v: v.value, lambda v: ops.reshape(v, (2,)), ops.stop_gradient,
                                  lambda v: ops.squeeze(ops.expand_dims(v, 0), 0)],
                         ids=["value", "reshape", "stop_gradient", "expand-squeeze"])
def test_a_snapshot_of_a_variable_written_back_after_it_keeps_the_old_value(read):
    # these reads view the variable's buffer; the write-backs once copied the new w into prev,
    # and a swap left both variables equal
    w, prev = lk.Variable(np.array([1.0, 2.0], "float32")), lk.Variable(np.zeros(2, "float32"))
    a, b = lk.Variable(np.array([1.0, 2.0], "float32")), lk.Variable(np.array([3.0, 4.0], "float32"))

    def step(g):
        old = read(w)
        w.assign_sub(0.5 * g)
        prev.assign(old)
        old_a = read(a)
        a.assign(b)
        b.assign(old_a)
        return old

    g = np.ones(2, "float32")
    concrete = lk.function(step).get_concrete_function(g)
    for plan in (concrete.plan, PythonPlan(concrete.graph)):
        for v, value in ((w, [1.0, 2.0]), (prev, [0.0, 0.0]), (a, [1.0, 2.0]), (b, [3.0, 4.0])):
            v.assign(np.array(value, "float32"))
        np.testing.assert_array_equal(plan.run([g])[0].numpy(), [1.0, 2.0])
        np.testing.assert_array_equal(w.numpy(), [0.5, 1.5])
        np.testing.assert_array_equal(prev.numpy(), [1.0, 2.0])
        np.testing.assert_array_equal(a.numpy(), [3.0, 4.0])
        np.testing.assert_array_equal(b.numpy(), [1.0, 2.0])
