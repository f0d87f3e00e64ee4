"""cond, while_loop, scan, fori_loop: eager, inside lk.function, and their gradients."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import check_grad


def test_cond_eager_runs_one_branch():
    calls = []
    out = ops.cond(True, lambda: calls.append("t") or 1.0, lambda: calls.append("f") or 2.0)
    assert out == 1.0 and calls == ["t"]


@pytest.mark.parametrize("values,expected", [([1.0, -3.0], [-1.0, 3.0]), ([1.0, 3.0], [2.0, 6.0])])
def test_cond_on_a_symbolic_predicate_selects_per_call(values, expected):
    f = lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: x * 2.0, lambda: -x))
    np.testing.assert_array_equal(np.asarray(f(np.array(values, "float32"))), expected)
    assert f.trace_count == 1


def test_cond_branch_mismatch_and_assigns_are_explained():
    v = lk.Variable(np.zeros(2, "float32"))
    with pytest.raises(ValueError, match="branches return different tensors"):
        lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: x, lambda: x[:1]))(np.ones(2, "float32"))
    with pytest.raises(ValueError, match="assign variables"):
        lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: v.assign(x) * 1.0, lambda: x))(np.ones(2, "float32"))


def test_cond_inputs_are_checked_in_graph_mode_as_eagerly():
    x = np.array([1.0, 4.0, 9.0], "float32")
    with pytest.raises(ValueError, match=r"predicate must be a scalar.*\(3,\).*ops.where"):
        lk.function(lambda x: ops.cond(x > 2, lambda: x * 2, lambda: x * 3))(x)  # once silently elementwise
    with pytest.raises(ValueError, match=r"different structures: \{'a': \(3,\), 'b': \(3,\)\} vs \{'b'"):
        lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: {"a": x, "b": 2 * x}, lambda: {"b": x, "c": 2 * x}))(x)
    with pytest.raises(ValueError, match="different structures"):
        lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: (x, x), lambda: [x, x]))(x)
    with pytest.raises(ValueError, match="the false branch returned None"):
        lk.function(lambda x: ops.cond(ops.sum(x) > 0, lambda: x, lambda: None))(x)


def test_a_compiled_cond_runs_only_the_branch_its_predicate_picks():
    # both branches once ran and were merged with where: the other branch's NaN gradient leaked
    # in, and a loop in the branch not taken could run forever
    def grad(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            y = ops.cond(ops.sum(x) > 0, lambda: ops.sum(ops.sqrt(x)), lambda: ops.sum(ops.sqrt(-x)))
        return y, tape.gradient(y, x)
    compiled = lk.function(grad)
    for x in (np.array([1.0, 4.0, 9.0], "float32"), np.array([-1.0, -4.0, -9.0], "float32")):
        for got, expected in zip(compiled(x), grad(lk.convert_to_tensor(x))):
            np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6)
            assert np.isfinite(np.asarray(got)).all()
    counts = compiled.get_graph(x).kernel_counts()
    assert counts["cond"] == 2 and "sqrt" not in counts  # the forward cond and its gradient's

    def count_to(n):  # the true branch loops until i == n: forever for n < 0
        return ops.cond(n >= 0, lambda: ops.while_loop(lambda i: ops.not_equal(i, n), lambda i: i + 1,
                                                       ops.zeros((), "int32")), lambda: ops.zeros((), "int32") - 1)
    f = lk.function(count_to)
    assert int(f(np.array(-1, "int32"))) == -1 and int(f(np.array(5, "int32"))) == 5


def test_a_compiled_cond_differentiates_variables_closures_and_twice():
    w = lk.Variable(np.array([0.5, -2.0]))
    scale = np.array(3.0)

    def fn(x, s):
        with lk.GradientTape() as outer:
            outer.watch(x)
            with lk.GradientTape() as inner:
                inner.watch([x, s])
                y = ops.cond(ops.sum(x) > 0, lambda: ops.sum(ops.sin(x * w) * s), lambda: {"v": ops.sum(x * x)}["v"])
            # (the branch not taken reads s and w: a compiled cond's gradient is 0 there, eager's None)
            dx, ds, dw = inner.gradient(y, [x, s, w], unconnected_gradients="zero")
            total = ops.sum(dx)
        return [y, dx, ds, dw, outer.gradient(total, x)]
    compiled = lk.function(fn)
    for x in (np.array([0.3, 0.9]), np.array([-0.3, -0.9])):
        got, expected = compiled(x, scale), fn(lk.convert_to_tensor(x), lk.convert_to_tensor(scale))
        for a, b in zip(got, expected):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    assert compiled.trace_count == 1
    assert compiled.get_concrete_function(x, scale).plan.python_steps([x, scale]) == []  # both branches native


def test_while_loop_eager_and_compiled_agree_including_closures():
    limit = np.array(100.0, "float32")

    def run(x, lim):
        return ops.while_loop(lambda a, n: ops.less(a, lim), lambda a, n: (a * 2.0, n + 1), (x, ops.zeros((), "int32")))
    eager = run(lk.convert_to_tensor(np.array(3.0, "float32")), lk.convert_to_tensor(limit))
    compiled = lk.function(run)
    for start, steps in [(3.0, 6), (60.0, 1), (150.0, 0)]:
        a, n = compiled(np.array(start, "float32"), limit)
        assert int(n) == steps and float(a) == start * 2 ** steps
    assert [float(eager[0]), int(eager[1])] == [192.0, 6]
    assert "while" in compiled.get_graph(np.array(3.0, "float32"), limit).kernel_counts()


@pytest.mark.parametrize("case", ["tuple", "dict"])
def test_a_compiled_while_loop_takes_nested_loop_variables_as_eagerly(case):
    x = np.ones(3, "float32")
    if case == "tuple":
        f = lambda x: ops.while_loop(lambda i, p: i < 3, lambda i, p: (i + 1, (p[0] * 2.0, p[1] + 1.0)), (0, (x, x)))
    else:
        f = lambda x: ops.while_loop(lambda d: d["i"] < 3, lambda d: {"i": d["i"] + 1, "v": d["v"] * 2.0},
                                     {"i": 0, "v": x})
    got, expected = lk.function(f)(x), f(lk.convert_to_tensor(x))
    assert lk.utils.tree.structure(got) == lk.utils.tree.structure(expected)
    for a, b in zip(lk.utils.tree.flatten(got), lk.utils.tree.flatten(expected)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_while_loop_and_fori_loop_refuse_what_they_cannot_loop_on():
    x = np.ones(3, "float32")
    with pytest.raises(ValueError, match=r"while_loop: the condition must return a scalar .* \(3,\)"):
        lk.function(lambda x: ops.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, x))(x)
    with pytest.raises(ValueError, match="while_loop: the body must return loop variables in the structure"):
        lk.function(lambda x: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, (v, v)), (0, x)))(x)
    # a float bound: eagerly truncated, compiled compared as a float (2 vs 3 iterations) before
    with pytest.raises(TypeError, match="fori_loop: argument 'upper' must be an integer.*received 2.5"):
        ops.fori_loop(0, 2.5, lambda i, v: v + 1.0, 0.0)
    with pytest.raises(TypeError, match="fori_loop: argument 'upper' must be an integer.*dtype float32"):
        lk.function(lambda n: ops.fori_loop(0, n, lambda i, v: v + 1.0, ops.zeros(())))(np.array(2.5, "float32"))


def test_a_compiled_while_loop_runs_natively_as_one_step_with_native_condition_and_body():
    from layerkit.graph.native import NativeExecutor

    w = lk.Variable(np.full((3, 3), 0.5, "float32"))

    def run(x):
        # a matrix power until the norm grows past 10; the count is unused, the state used twice
        y, _ = ops.while_loop(lambda a, n: ops.sum(ops.abs(a)) < 10.0,
                              lambda a, n: (ops.relu(ops.matmul(a, w) + 1.0), n + 1), (x, ops.zeros((), "int32")))
        return y * 2.0, ops.sum(y)

    f = lk.function(run, input_signature=[lk.TensorSpec((None, 3), "float32")])
    for rows in (1, 4):
        x = np.random.default_rng(rows).uniform(-1, 1, (rows, 3)).astype("float32")
        got = f(x)
        ref = run(lk.convert_to_tensor(x))
        for a, b in zip(got, ref):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
        concrete = f.get_concrete_function(x)
        assert isinstance(concrete.plan, NativeExecutor)
        assert concrete.plan.python_steps([x]) == []  # condition and body run by pointer, no Python
    loop = next(n for n in concrete.graph.nodes if n.op.name == "while")
    assert isinstance(loop.attrs["cond_plan"], NativeExecutor) and isinstance(loop.attrs["body_plan"], NativeExecutor)


def test_while_loop_maximum_iterations_and_single_loop_var():
    assert int(ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7)) == 7
    f = lk.function(lambda x: ops.while_loop(lambda i: i < 100.0, lambda i: i + 1.0, x, maximum_iterations=7))
    assert float(f(np.array(0.0, "float32"))) == 7.0


def test_while_loop_body_must_keep_shapes():
    f = lk.function(lambda x: ops.while_loop(lambda a: ops.sum(a) < 10.0, lambda a: ops.concatenate([a, a]), x))
    with pytest.raises(ValueError, match="same shapes and dtypes"):
        f(np.ones(2, "float32"))


def test_while_loop_gradient_through_data_dependent_loop_is_refused():
    def f(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            y = ops.sum(ops.while_loop(lambda a: ops.sum(a) < 10.0, lambda a: a * 2.0, x))
        return tape.gradient(y, x)
    with pytest.raises(ValueError, match="not reverse-differentiable"):
        lk.function(f)(np.ones(2, "float32"))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_a_python_loop_and_differentiates(reverse):
    xs = np.random.default_rng(0).standard_normal((5, 3))

    def fn(x, h0):
        def step(h, xt):
            h = ops.tanh(h * 0.5 + xt)
            return h, h * 2.0
        return ops.scan(step, h0, x, reverse=reverse)[1]
    h = np.zeros(3)
    ys = []
    for t in (range(4, -1, -1) if reverse else range(5)):
        h = np.tanh(h * 0.5 + xs[t])
        ys.append(h * 2)
    expected = np.stack(ys[::-1] if reverse else ys)
    np.testing.assert_allclose(np.asarray(fn(lk.convert_to_tensor(xs), lk.convert_to_tensor(np.zeros(3)))), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(np.asarray(lk.function(fn)(xs, np.zeros(3))), expected, rtol=1e-12)
    check_grad(fn, xs, np.full(3, 0.1))


def test_fori_loop_static_and_symbolic_bounds():
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    f = lk.function(lambda x, n: ops.fori_loop(0, n, lambda i, v: v * 2.0, x))
    assert float(f(np.array(1.0, "float32"), np.array(5, "int32"))) == 32.0
    g = lk.function(lambda x: ops.fori_loop(0, 3, lambda i, v: v * x, x))
    x = np.array(2.0, "float32")
    assert float(g(x)) == 16.0 and "while" not in g.get_graph(x).kernel_counts()


def test_while_loop_on_symbolic_tensors_outside_a_trace_is_explained():
    x = lk.SymbolicTensor((None, 2))
    with pytest.raises(ValueError, match="inside a traced function"):
        ops.while_loop(lambda a: ops.sum(a) < 1.0, lambda a: a * 2.0, x)


# ---- scan inside a traced function: one loop node, differentiable ------------------------------
def _assert_all_equal(got, expected, rtol=1e-12):
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


def _recurrence(reverse=False):
    """A recurrence reading variables and a closure tensor, with a dict carry (one int member),
    a tuple of outputs and two sequences; its loss, and the gradients of everything it reads."""
    rng = np.random.default_rng(1)
    w = lk.Variable(rng.standard_normal((3, 3)) * 0.5, name="w")
    u = lk.Variable(rng.standard_normal((2, 3)) * 0.5, name="u")

    def fn(xs, scale, h0):
        with lk.GradientTape() as tape:
            tape.watch([xs, scale, h0])
            bias = ops.sin(scale)  # read by the step from the enclosing function

            def step(carry, x):
                x_t, g_t = x
                h = ops.tanh(ops.matmul(carry["h"], w) + ops.matmul(x_t, u) + bias) * g_t
                return {"h": h, "n": carry["n"] + 1}, (h * 2.0, ops.sum(h, axis=-1))
            carry, (ys, sums) = ops.scan(step, {"h": h0, "n": ops.zeros((), "int32")},
                                         (xs, ops.exp(xs[..., :1])), reverse=reverse)
            loss = ops.sum(ys * ys) + ops.sum(sums) + ops.sum(ops.square(carry["h"]))
        return [loss, carry["n"]] + tape.gradient(loss, [xs, scale, h0, w, u])
    args = (rng.standard_normal((6, 4, 2)), rng.standard_normal(3), rng.standard_normal((4, 3)))
    return fn, args


@pytest.mark.parametrize("reverse", [False, True])
def test_a_traced_scan_is_one_loop_node_whose_results_and_gradients_equal_eager(reverse):
    fn, args = _recurrence(reverse)
    compiled = lk.function(fn)
    got, expected = compiled(*args), fn(*[lk.convert_to_tensor(a) for a in args])
    assert all(g is not None for g in expected)
    _assert_all_equal(got, expected)
    counts = compiled.get_graph(*args).kernel_counts()
    assert counts["scan"] == 2  # the loop and its gradient, whatever the number of steps
    assert "tanh" not in counts  # the step lives in the loop's own plan
    # the weights' gradients: one GEMM each over all steps, after the gradient's loop
    assert counts["matmul"] == 2
    assert int(compiled(*args)[1]) == 6
    # the forward step saves its two products; the gradient's step does not compute them again:
    # its two matmuls are the products' gradients with respect to their left operands
    forward, backward = [n for n in compiled.get_graph(*args).nodes if n.op.name == "scan"]
    assert forward.attrs["res_at"] == (0, 1) and backward.attrs["res_at"] == ()
    assert forward.attrs["hoist"] == {0: (0,), 1: (1,)}  # free inputs w and u: products 0 and 1
    assert backward.attrs["body_plan"].graph.kernel_counts()["matmul"] == 2


def test_the_gradient_of_a_traced_scan_equals_central_differences():
    weights = np.random.default_rng(5).standard_normal((5, 3))

    def loss(xs, h0):
        def step(h, x):
            h = ops.tanh(h * 0.7 + x) * ops.sigmoid(x)
            return h, h * h
        return ops.sum(ops.scan(step, h0, xs, reverse=True)[1] * weights)

    def loss_and_grads(xs, h0):
        with lk.GradientTape() as tape:
            tape.watch([xs, h0])
            value = loss(xs, h0)
        return [value] + tape.gradient(value, [xs, h0])
    compiled, forward = lk.function(loss_and_grads), lk.function(loss)
    rng = np.random.default_rng(2)
    args = [rng.standard_normal((5, 3)), rng.standard_normal(3)]
    grads = [np.asarray(g) for g in compiled(*args)[1:]]
    eps = 1e-6
    for k, a in enumerate(args):
        numeric = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            plus, minus = [b.copy() for b in args], [b.copy() for b in args]
            plus[k][i] += eps
            minus[k][i] -= eps
            numeric[i] = (float(forward(*plus)) - float(forward(*minus))) / (2 * eps)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8)


def test_second_derivatives_through_a_traced_scan_equal_eager():
    w = lk.Variable(np.random.default_rng(3).standard_normal((3, 3)) * 0.5)

    def fn(xs):
        with lk.GradientTape() as outer:
            with lk.GradientTape() as inner:
                h, ys = ops.scan(lambda h, x: (ops.tanh(ops.matmul(h, w) + x), ops.sum(h)), ops.zeros((2, 3), "float64"),
                                 xs)
                loss = ops.sum(h * h) + ops.sum(ys)
            g = inner.gradient(loss, w)
            penalty = ops.sum(g * g)
        return [penalty, outer.gradient(penalty, w)]
    xs = np.random.default_rng(4).standard_normal((4, 2, 3))
    compiled = lk.function(fn)
    _assert_all_equal(compiled(xs), fn(lk.convert_to_tensor(xs)), rtol=1e-10)
    assert compiled.get_graph(xs).kernel_counts()["scan"] == 4


def test_nested_scans_with_an_unknown_batch_equal_eager():
    def fn(xs):
        def outer_step(h, x):
            h2, hs = ops.scan(lambda hh, xx: (hh * 0.5 + ops.sin(xx), hh), h, ops.stack([x, x * 2.0]))
            return h2 + ops.sum(hs, axis=0), h2
        with lk.GradientTape() as tape:
            tape.watch(xs)
            h, ys = ops.scan(outer_step, ops.zeros_like(xs[0]), xs)
            loss = ops.sum(ys * ys) + ops.sum(h)
        return [loss, tape.gradient(loss, xs)]
    compiled = lk.function(fn, input_signature=[lk.TensorSpec((4, None, 3), "float64")])
    for batch in (1, 5):
        xs = np.random.default_rng(batch).standard_normal((4, batch, 3))
        _assert_all_equal(compiled(xs), fn(lk.convert_to_tensor(xs)))
    assert compiled.trace_count == 1


def test_a_traced_scan_runs_natively_with_no_python_step():
    from layerkit.graph.native import NativeExecutor

    f = lk.function(lambda xs: ops.scan(lambda h, x: (h + x, h * x), ops.zeros((2,), "float32"), xs))
    xs = np.arange(10, dtype="float32").reshape(5, 2)
    concrete = f.get_concrete_function(xs)
    assert isinstance(concrete.plan, NativeExecutor)
    assert concrete.plan.python_steps([xs]) == []  # the loop is a native step running its step's plan
    printed = str(concrete.graph)  # the step's own graph prints under the loop
    assert "scan(%" in printed and "length=5" in printed and "      step: Graph: 1 kernels per call (fused_elementwise x1)" in printed
    loop = next(n for n in concrete.graph.nodes if n.op.name == "scan")
    assert isinstance(loop.attrs["body_plan"], NativeExecutor)
    h, ys = f(xs)
    np.testing.assert_array_equal(np.asarray(h), xs.sum(0))
    np.testing.assert_array_equal(np.asarray(ys), np.concatenate([np.zeros((1, 2)), np.cumsum(xs, 0)[:-1]]) * xs)


def test_scan_unroll_true_unrolls_and_length_alone_works():
    f = lk.function(lambda x: ops.scan(lambda c, _: (c * 2.0, c), x, length=4, unroll=True))
    x = np.ones(2, "float32")
    assert "scan" not in f.get_graph(x).kernel_counts()
    g = lk.function(lambda x: ops.scan(lambda c, _: (c * 2.0, c), x, length=4))
    assert "scan" in g.get_graph(x).kernel_counts()
    for fn in (f, g):
        c, ys = fn(x)
        np.testing.assert_array_equal(np.asarray(c), [16.0, 16.0])
        np.testing.assert_array_equal(np.asarray(ys)[:, 0], [1.0, 2.0, 4.0, 8.0])


def test_traced_scan_errors_name_the_loop():
    f = lk.function(lambda x, xs: ops.scan(lambda c, v: (ops.concatenate([c, v]), v), x, xs))
    with pytest.raises(ValueError, match=r"^scan: the step must return a carry of the shapes and dtypes it received"):
        f(np.ones(2, "float32"), np.ones((3, 2), "float32"))
    v = lk.Variable(np.zeros(2, "float32"))

    def assigns(c, x):
        v.assign(c)
        return c + x, c
    with pytest.raises(ValueError, match=r"^scan: the loop's functions must not assign variables"):
        lk.function(lambda x, xs: ops.scan(assigns, x, xs))(np.ones(2, "float32"), np.ones((3, 2), "float32"))
    with pytest.raises(ValueError, match=r"^scan: `length` \(4\) differs from the leading size of `xs` \(3\)"):
        ops.scan(lambda c, x: (c, x), 0.0, np.ones(3), length=4)


def test_a_traced_fori_loop_with_static_bounds_is_a_scan_unless_its_body_needs_a_python_int():
    w = lk.Variable(np.array([0.5, 2.0], "float64"))

    def fn(x):
        with lk.GradientTape() as tape:
            tape.watch(x)
            y = ops.fori_loop(1, 6, lambda i, v: ops.sin(v * w) + ops.cast(i, "float64"), x)
            loss = ops.sum(y * y)
        return [y] + tape.gradient(loss, [x, w])
    x = np.array([0.3, -0.7])
    compiled = lk.function(fn)
    _assert_all_equal(compiled(x), fn(lk.convert_to_tensor(x)))
    assert compiled.get_graph(x).kernel_counts()["scan"] == 2  # the loop and its gradient
    scales = [2.0, 3.0, 5.0]
    branchy = lk.function(lambda v: ops.fori_loop(0, 3, lambda i, a: a * scales[i] if i else a - 1.0, v))
    np.testing.assert_array_equal(np.asarray(branchy(np.ones(2, "float32"))), [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(branchy(np.full(2, 3.0, "float32"))), [30.0, 30.0])
    assert "scan" not in branchy.get_graph(np.ones(2, "float32")).kernel_counts()  # unrolled: i is a Python int


def test_a_step_that_traces_differently_the_second_time_is_recomputed_for_its_gradient():
    # the backward step replays the forward step onto its saved products; a step whose ops change
    # between traces (Python state) cannot be replayed, and its gradient recomputes it instead
    w = lk.Variable(np.array([[0.5, -1.0], [2.0, 0.3]]))
    traces = []

    def step(h, x):
        traces.append(None)
        doubled = h * 2.0 if len(traces) == 1 else h + h  # the same value, other ops
        return ops.tanh(ops.matmul(doubled, w) + x), h

    def fn(xs):
        with lk.GradientTape() as tape:
            tape.watch(xs)
            h, ys = ops.scan(step, ops.ones((2,), "float64"), xs)
            loss = ops.sum(h) + ops.sum(ys * ys)
        return [loss] + tape.gradient(loss, [xs, w])
    xs = np.random.default_rng(6).standard_normal((4, 2))
    expected = fn(lk.convert_to_tensor(xs))
    traces.clear()
    compiled = lk.function(fn)
    _assert_all_equal(compiled(xs), expected)
    assert len(traces) >= 3  # the forward trace, the replay that failed, the recompute
    # w is read only by a product, whose gradient would be one GEMM after the loop; that needs the
    # replay, so the gradient sums w's gradient step by step instead
    forward, backward = [n for n in compiled.get_graph(xs).nodes if n.op.name == "scan"]
    assert forward.attrs["hoist"] and "matmul" not in compiled.get_graph(xs).kernel_counts()
