"""Loops as graph nodes: `while_loop` on symbolic values traces its condition and body into
subgraphs, and one WHILE node runs them until the condition fails.

The node's value is the tuple of final loop variables; TUPLE_GET nodes pick its elements, so
the single-output IR needs no special case. Tensors the condition or body read from the
enclosing function (closures) become extra inputs of the node.
"""
from layerkit.graph.passes import optimize
from layerkit.graph.trace import Tracer, build_graph
from layerkit.ops.primitive import RECORDERS, TRACE, register
from layerkit.ops.tensor import SymbolicTensor
from layerkit.utils import tree


def _while_forward(*arrays, cond_plan, body_plan, n_vars, cond_free, body_free, maximum_iterations):
    vals = list(arrays[:n_vars])
    free = arrays[n_vars:]
    cond_extra = [free[i] for i in cond_free]
    body_extra = [free[i] for i in body_free]
    i = 0
    while maximum_iterations is None or i < maximum_iterations:
        if not bool(cond_plan.run(vals + cond_extra)[0]._data):
            break
        vals = [t._data for t in body_plan.run(vals + body_extra)]
        i += 1
    return vals


def _not_differentiable(ctx, g):
    raise ValueError("while_loop is not reverse-differentiable inside a traced function: its trip count depends "
                     "on data. Use lk.ops.scan or lk.ops.fori_loop with static bounds for loops you "
                     "differentiate.")


WHILE = register("while", forward=_while_forward, infer=lambda *a, **k: ((), "bool"), grad=_not_differentiable)
TUPLE_GET = register("tuple_get", forward=lambda t, index, shape, dtype: t[index],
                     infer=lambda t, index, shape, dtype: (shape, dtype), grad=_not_differentiable)


def _subgraph(fn, specs, n_results=None):
    """(native plan, free symbolic tensors it reads, flat result specs) of `fn` traced on
    placeholders for `specs`."""
    from layerkit.graph.native import make_plan

    placeholders = [SymbolicTensor(s.shape, s.dtype) for s in specs]
    inner = Tracer()
    outer, saved = TRACE.tracer, list(RECORDERS)
    TRACE.tracer = inner
    RECORDERS.clear()  # the enclosing tapes must not see the loop body's placeholders
    try:
        results = fn(*placeholders)
    finally:
        TRACE.tracer = outer
        RECORDERS.extend(saved)
    if inner.updates:
        raise ValueError("while_loop: the condition and body must not assign variables inside a traced function.")
    flat = tree.flatten(results)
    graph, _, free = build_graph(flat, placeholders, (), inner.order, allow_free=True)
    return make_plan(optimize(graph)), free, flat


def while_loop(tracer, cond, body, loop_vars, maximum_iterations):
    from layerkit.ops import convert_to_tensor

    loop_vars = [tracer.read(convert_to_tensor(v)) for v in loop_vars]
    cond_plan, cond_free, _ = _subgraph(cond, loop_vars)
    body_plan, body_free, results = _subgraph(lambda *v: list(tree.flatten(body(*v))), loop_vars)
    if len(results) != len(loop_vars) or any(tuple(r.shape) != tuple(v.shape) or r.dtype != v.dtype
                                             for r, v in zip(results, loop_vars)):
        raise ValueError("while_loop: the body must return loop variables of the same shapes and dtypes it "
                         f"received: {[(v.shape, v.dtype) for v in loop_vars]} -> "
                         f"{[(r.shape, r.dtype) for r in results]}.")
    free = []
    for t in cond_free + body_free:
        if not any(t is f for f in free):
            free.append(t)
    index = {id(t): i for i, t in enumerate(free)}
    attrs = {"cond_plan": cond_plan, "body_plan": body_plan, "n_vars": len(loop_vars),
             "cond_free": tuple(index[id(t)] for t in cond_free), "body_free": tuple(index[id(t)] for t in body_free),
             "maximum_iterations": maximum_iterations}
    loop = tracer.apply(WHILE, tuple(loop_vars) + tuple(free), attrs)
    return [tracer.apply(TUPLE_GET, (loop,), {"index": i, "shape": tuple(v.shape), "dtype": v.dtype})
            for i, v in enumerate(loop_vars)]
