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
