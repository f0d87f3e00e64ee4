"""Looking inside compiled functions.

Example:
>>> import layerkit as lk
>>> f = lk.function(lambda x: lk.ops.relu(x * 2.0 + 1.0))
>>> print(lk.debugging.kernel_counts(f, lk.ops.ones((3,))))
{'fused_elementwise': 1}
"""


def graph_report(fn, *args, **kwargs):
    """The graph `fn` (an lk.function) runs for these arguments, before and after optimization,
    with the number of kernels per call."""
    return fn.get_concrete_function(*args, **kwargs).report()


def print_graph(fn, *args, **kwargs):
    print(graph_report(fn, *args, **kwargs))


def kernel_counts(fn, *args, **kwargs):
    """{kernel name: count} of the optimized graph for these arguments."""
    return fn.get_graph(*args, **kwargs).kernel_counts()


def profile(fn, *args, repeats=5, **kwargs):
    """Time per kernel of the compiled graph of `fn` for these arguments: a list of
    (kernel with its input shapes, seconds), slowest first. The runs update variables as real
    calls do."""
    from layerkit.graph.trace import convert_argument
    from layerkit.utils import tree

    concrete = fn.get_concrete_function(*args, **kwargs)
    tensors = [x for x in tree.flatten(tree.map_structure(convert_argument, (args, kwargs)))
               if hasattr(x, "_data") and x.__class__.__name__ == "Tensor"]
    timings = concrete.plan.profile([t._data for t in tensors], repeats=repeats)
    return sorted(timings, key=lambda kv: -kv[1])
