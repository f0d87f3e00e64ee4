"""Graph passes. Each takes a Graph and returns a rewritten one; `optimize` runs them in order.

Legality rules are written next to each pass. A value id never changes meaning: a rewrite
redirects the uses of an old value to a new one (`_replace`) and leaves dead nodes to DCE.
"""
import numpy as np

from layerkit.graph.epilogue import fuse_epilogues
from layerkit.graph.fusion import fuse_elementwise, update_in_place
from layerkit.graph.ir import Graph, Node


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, np.ndarray):
        return ("ndarray", v.shape, v.dtype.str, v.tobytes())
    return v


def _replace(g, old, new):
    """Every use of value `old` (node inputs, outputs, updates) now reads `new`."""
    for n in g.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
    g.outputs = [new if o == old else o for o in g.outputs]
    g.updates = [(var, new if v == old else v) for var, v in g.updates]


def dead_code_elimination(g):
    """Drops nodes whose output reaches no output and no update (no primitive has side effects:
    variable writes are explicit updates)."""
    live = set(g.roots())
    kept = []
    for n in reversed(g.nodes):
        if any(o in live for o in n.outputs):
            kept.append(n)
            live.update(n.inputs)
    g.nodes = kept[::-1]
    return g


def common_subexpression_elimination(g):
    """Merges nodes applying the same primitive with the same attrs to the same inputs.
    Legal because primitives are pure (random ops take their seed as an input)."""
    seen = {}
    for n in g.nodes:
        try:
            key = (n.op.name, tuple(n.inputs), _freeze(n.attrs))
            hash(key)
        except TypeError:
            continue
        if key in seen:
            _replace(g, n.output, seen[key])
        else:
            seen[key] = n.output
    return dead_code_elimination(g)


def constant_folding(g, max_bytes=1 << 22):
    """Evaluates nodes whose inputs are all constants (up to `max_bytes` of output: folding must
    not bloat the plan with huge tensors)."""
    for n in g.nodes:
        ins = [g.values[i] for i in n.inputs]
        if ins and all(v.kind == "constant" for v in ins):
            out = g.values[n.output]
            if np.prod(out.shape, dtype=np.int64) * np.dtype(out.dtype).itemsize > max_bytes:
                continue
            data = n.op.forward(*[v.ref for v in ins], **n.attrs)
            out.kind, out.ref = "constant", np.ascontiguousarray(data)
    g.nodes = [n for n in g.nodes if g.values[n.output].kind == "node"]
    return g


def _is_const(g, vid, value):
    v = g.values[vid]
    return v.kind == "constant" and v.ref.size <= 1 and np.all(v.ref == value)


def algebraic_simplification(g):
    """x*1, 1*x, x+0, 0+x, x-0, x/1 -> x (when the result has x's shape and dtype: a broadcast
    that grows x is not an identity); reshape to the same shape, cast to the same dtype,
    broadcast_to the same shape -> x; reshape(reshape(x)) -> one reshape."""
    producers = g.producers()
    for n in g.nodes:
        out = g.values[n.output]
        name = n.op.name
        same = None
        if name in ("multiply", "add", "subtract", "divide") and len(n.inputs) == 2:
            a, b = n.inputs
            unit = 1 if name in ("multiply", "divide") else 0
            if _is_const(g, b, unit):
                same = a
            elif name in ("multiply", "add") and _is_const(g, a, unit):
                same = b
        elif name in ("reshape", "broadcast_to", "cast", "stop_gradient") and n.inputs:
            same = n.inputs[0]
            if name == "reshape" and n.inputs[0] in producers and producers[n.inputs[0]].op.name == "reshape":
                n.inputs = list(producers[n.inputs[0]].inputs)  # reshape of a reshape: one reshape
                same = None if g.values[n.inputs[0]].shape != out.shape else n.inputs[0]
        if same is not None:
            src = g.values[same]
            if src.shape == out.shape and src.dtype == out.dtype and src.kind != "variable":
                _replace(g, n.output, same)
    return dead_code_elimination(g)


def max_pool_gradient_identities(g):
    """Two identities of max pooling's gradient, whose every element lands on exactly one input
    element (its window's maximum), applied where a conv -> relu -> max-pool backward meets them:

    - relu_grad(x, max_pool2d_grad(x, g)) = max_pool2d_grad(x, relu_grad(max_pool2d(x), g)): the
      relu mask is applied on the pooled side, to 1/pool_area of the elements (the input's
      maximum is the pooled value, so the masks agree). Needs the forward's max_pool2d(x) in
      the graph, as a training step has it.
    - sum(max_pool2d_grad(x, g), axes including H and W) = sum(g, same axes): a bias gradient
      summed on the pooled side.
    """
    pooled = {(n.inputs[0], _freeze(n.attrs)): n.output for n in g.nodes if n.op.name == "max_pool2d"}
    consumers, roots, producers = g.consumers(), set(g.roots()), g.producers()
    rewritten = {}
    for n in g.nodes:
        if n.op.name != "relu_grad":
            continue
        x, grad = n.inputs
        p = producers.get(grad)
        if (p is None or p.op.name != "max_pool2d_grad" or len(p.inputs) != 2 or p.inputs[0] != x
                or len(consumers.get(grad, [])) != 1 or grad in roots):
            continue
        y = pooled.get((x, _freeze(p.attrs)))
        if y is None:
            continue
        g_pooled = p.inputs[1]
        masked = g.new_value("node", g.values[g_pooled].shape, g.values[g_pooled].dtype)
        rewritten[id(n)] = [Node(n.op, [y, g_pooled], n.attrs, masked), Node(p.op, [x, masked], p.attrs, n.output)]
        rewritten[id(p)] = []
    if rewritten:
        nodes = []
        for n in g.nodes:
            nodes.extend(rewritten.get(id(n), [n]))
        g.nodes = nodes
    producers = g.producers()
    for n in g.nodes:
        if n.op.name != "sum" or not n.inputs:
            continue
        p = producers.get(n.inputs[0])
        if p is None or p.op.name != "max_pool2d_grad" or len(p.inputs) != 2:
            continue
        axes = n.attrs.get("axis")
        rank = len(g.values[n.inputs[0]].shape)
        axes = range(rank) if axes is None else [a % rank for a in (axes if isinstance(axes, (tuple, list)) else [axes])]
        if {1, 2} <= set(axes):
            n.inputs = [p.inputs[1]]
    return dead_code_elimination(g)


# the state columns of a fused recurrence's packed output (h and c for the LSTM, h for the GRU)
_STATE_COLUMNS = {"lstm_sequence_grad": (6, 2), "gru_sequence_grad": (5, 1)}


def last_step_gradients(g):
    """A fused LSTM/GRU whose only read output is its last step's state (return_sequences=False,
    a classifier's usual shape) gets back the gradient of the whole packed output, zeros but for
    that one step: the tape scatters the slice into a zero tensor of (time, batch, 6 * units),
    which the backward kernel then reads through. Here the backward step takes the slice itself
    (attr `last`: its columns), so neither the zeros nor their reading remain. Legal when the
    scattered tensor has no other reader and its one slice is the last processed step's state
    columns."""
    producers, consumers, roots = g.producers(), g.consumers(), set(g.roots())
    for n in g.nodes:
        layout = _STATE_COLUMNS.get(n.op.name)
        if layout is None or "last" in n.attrs:
            continue
        grad = n.inputs[0]
        p = producers.get(grad)
        if (p is None or p.op.name != "getitem_grad" or len(p.inputs) != 1 + bool(p.attrs.get("like"))
                or len(p.attrs["keys"]) != 1
                or len(consumers.get(grad, [])) != 1 or grad in roots):
            continue
        steps, batch, width = g.values[grad].shape
        key = list(p.attrs["keys"][0])
        key += [("s", None, None, None)] * (3 - len(key))
        if len(key) != 3 or key[0][0] != "i" or key[1][0] != "s" or key[2][0] != "s":
            continue
        whole = key[1][1] in (None, 0) and key[1][2] in (None, batch) and key[1][3] in (None, 1)  # every row
        if steps is None or width is None or key[0][1] % steps != steps - 1 or not whole:
            continue
        start, stop, stride = slice(*key[2][1:]).indices(width)
        units = width // layout[0]
        if stride != 1 or not start < stop <= layout[1] * units:
            continue
        n.inputs[0] = p.inputs[0]
        n.attrs = dict(n.attrs, last=(start, stop))
    return dead_code_elimination(g)


PASSES = (constant_folding, algebraic_simplification, common_subexpression_elimination, dead_code_elimination,
          max_pool_gradient_identities, last_step_gradients, fuse_epilogues, fuse_elementwise, update_in_place)


def optimize(g, passes=PASSES):
    g = g.copy()
    for p in passes:
        g = p(g)
    return g


__all__ = ["optimize", "dead_code_elimination", "common_subexpression_elimination", "constant_folding",
           "algebraic_simplification", "Graph"]
