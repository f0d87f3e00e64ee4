"""Looking inside compiled functions.

Example:
>>> import layerkit as lk
>>> f = lk.function(lambda x: lk.ops.relu(x * 2.0 + 1.0))
>>> print(lk.debugging.kernel_counts(f, lk.ops.ones((3,))))
{'fused_elementwise': 1}
"""


def _compiled(fn, what):
    if not hasattr(fn, "get_concrete_function"):
        raise TypeError(f"lk.debugging.{what}: expected a function made by lk.function, received "
                        f"{getattr(fn, '__name__', type(fn).__name__)!r}; wrap it first: lk.function(fn).")
    return fn


def graph_report(fn, *args, **kwargs):
    """The graph `fn` (an lk.function) runs for these arguments, before and after optimization,
    with the number of kernels per call."""
    return _compiled(fn, "graph_report").get_concrete_function(*args, **kwargs).report()


def print_graph(fn, *args, **kwargs):
    print(graph_report(fn, *args, **kwargs))


def kernel_counts(fn, *args, **kwargs):
    """{kernel name: count} of the optimized graph for these arguments."""
    return _compiled(fn, "kernel_counts").get_graph(*args, **kwargs).kernel_counts()


def profile(fn, *args, repeats=5, **kwargs):
    """Time per kernel of the compiled graph of `fn` for these arguments: a list of
    (kernel with its input shapes, seconds), slowest first. The runs update variables as real
    calls do."""
    concrete = _compiled(fn, "profile").get_concrete_function(*args, **kwargs)
    tensors = fn._leaves(args, kwargs)[3]  # the tensor arguments, as a call converts them
    timings = concrete.plan.profile([t._data for t in tensors], repeats=repeats)
    return sorted(timings, key=lambda kv: -kv[1])
