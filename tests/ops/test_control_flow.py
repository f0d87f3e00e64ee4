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
        assert [label.split("(")[0] for label in concrete.plan.python_steps([x])] == ["while"]
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
