"""Tracing: run a Python function on symbolic tensors and record the primitives it applies.

While a Tracer is installed (ops.primitive.TRACE), `apply` hands every primitive to it:
- an op with a symbolic input, or a Variable input, becomes a graph node (variables are read at
  run time, by reference, never baked in);
- an op on constants only runs now (constant folding for free);
- `Variable.assign` inside the function records an update, and later reads of that variable in
  the same function see the assigned value;
- active gradient tapes record the symbolic ops, so `tape.gradient` inside the function builds
  the backward pass into the same graph.
Python control flow runs once, at trace time: branches and loops on Python values unroll.
"""
import numpy as np

from layerkit.backend import as_array
from layerkit.graph.ir import Graph, Node
from layerkit.ops import Tensor, cast, convert_to_tensor, stop_gradient
from layerkit.ops.primitive import TRACE
from layerkit.ops.tensor import SymbolicTensor
from layerkit.utils import tree


def _is_variable(x):
    return isinstance(x, Tensor) and x.__class__ is not Tensor


class Tracer:
    def __init__(self):
        self.current = {}  # id(variable) -> value it holds after an assign in this trace
        self.updates = {}  # id(variable) -> (variable, final value), in first-assign order
        self.assigned = {}  # id(value) -> (the variable it was assigned to, value): tapes read it
        self.called_layers = []  # layers called at the top level: their losses are the trace's
        self.order = []  # symbolic results in the order the function computed them
        self.created = []  # variables created while tracing (a layer built on its first call)

    def read(self, x):
        return self.current.get(id(x), x) if _is_variable(x) else x

    def apply(self, op, inputs, attrs):
        inputs = tuple(self.read(x) for x in inputs)
        if any(isinstance(x, SymbolicTensor) or _is_variable(x) for x in inputs):
            shape, dtype = op.infer(*inputs, **attrs)
            out = SymbolicTensor(shape, dtype, op=op, inputs=inputs, attrs=attrs)
            self.order.append(out)
        else:
            out = Tensor(op.forward(*[x._data for x in inputs], **attrs))
        for r in TRACE.recorders:
            r.record(op, inputs, attrs, out)
        return out

    def while_loop(self, cond, body, loop_vars, maximum_iterations):
        from layerkit.graph.control_flow import while_loop

        return while_loop(self, cond, body, loop_vars, maximum_iterations)

    def scan(self, f, init, xs, length, reverse):
        from layerkit.graph.control_flow import scan

        return scan(self, f, init, xs, length, reverse)

    def cond(self, pred, true_fn, false_fn):
        from layerkit.graph.control_flow import cond

        return cond(self, pred, true_fn, false_fn)

    def assign(self, variable, value):
        value = self.read(value)
        if not isinstance(value, (SymbolicTensor, Tensor)):
            value = Tensor(as_array(value, variable.dtype))
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"Variable '{variable.name}'.assign: expected a value of shape {tuple(variable.shape)}, "
                             f"received {tuple(value.shape)}.")
        if value.dtype != variable.dtype:
            value = cast(value, variable.dtype)
        # reads of the variable from here on see the value through a stop_gradient (an alias, no
        # copy): a tape takes it for the variable, a leaf as eagerly, and its gradient does not
        # flow on into what the value was computed from
        read = stop_gradient(value)
        self.current[id(variable)] = read
        self.updates[id(variable)] = (variable, value)
        self.assigned[id(read)] = (variable, read)


def trace(fn, args, kwargs, placeholders, name="function", first=True):
    """Runs `fn(*args, **kwargs)` with `placeholders` (a dict id(arg leaf) -> SymbolicTensor)
    standing for the tensor arguments, and returns (Graph, the output structure). Only a
    function's `first` trace may create variables (they persist, as the function's own)."""
    tracer = Tracer()
    previous = TRACE.tracer
    TRACE.tracer = tracer
    try:
        outputs = fn(*args, **kwargs)
        if tracer.created and not first:
            raise ValueError(
                f"function '{name}' created variables ({', '.join(v.name for v in tracer.created)}) when traced again "
                "for new arguments. A traced function creates its variables once, on its first trace, and keeps "
                "them across calls (as TensorFlow's tf.function does): create them outside the function, or build "
                "the layers before tracing it again.")
    finally:
        TRACE.tracer = previous
        for layer in tracer.called_layers:  # symbolic values of this trace: no use outside it
            layer._clear_losses()
    # a variable returned after an assign returns the assigned value, as eagerly
    outputs = tree.map_structure(tracer.read, outputs)
    return build_graph(outputs, list(placeholders.values()), tracer.updates.values(), tracer.order)


def build_graph(outputs, placeholders, updates, order=None, allow_free=False):
    """The Graph computing `outputs` and `updates` from `placeholders`, captured variables and
    constants. Nodes keep the order the function computed them in (`order`, a topological order
    that keeps independent computations where the program put them, which fusion relies on);
    only what the results and updates need is kept (an iterative walk: deep graphs cannot hit
    the recursion limit).

    With `allow_free` (a loop body), symbolic tensors the function read from an enclosing trace
    become extra inputs after the placeholders, and the result is (Graph, outputs, free list)."""
    inner = {id(t) for t in order} if (allow_free and order is not None) else None
    free = []
    g = Graph()
    vid = {}
    for p in placeholders:
        vid[id(p)] = g.new_value("input", p.shape, p.dtype)
        g.inputs.append(vid[id(p)])
    keep = []  # symbolic tensors must stay alive while their ids are used as keys

    def value_of(t):
        if id(t) in vid:
            return vid[id(t)]
        if isinstance(t, SymbolicTensor) and inner is not None:
            vid[id(t)] = g.new_value("input", t.shape, t.dtype)
            g.inputs.append(vid[id(t)])
            free.append(t)
            return vid[id(t)]
        if isinstance(t, SymbolicTensor):
            raise ValueError(f"The traced function's result depends on a symbolic tensor {t!r} that is not one of "
                             "its inputs (was it created outside the function?).")
        kind = "variable" if _is_variable(t) else "constant"
        ref = t if kind == "variable" else t._data
        vid[id(t)] = g.new_value(kind, t.shape, t.dtype, ref)
        keep.append(t)
        return vid[id(t)]

    roots = [t for t in tree.flatten(outputs) if isinstance(t, (Tensor, SymbolicTensor))]
    roots += [value for _, value in updates]
    if order is not None:
        # reachable set first, then emit in the program's order
        needed, stack = set(), list(roots)
        while stack:
            t = stack.pop()
            if id(t) in needed or not isinstance(t, SymbolicTensor) or t.op is None or (
                    inner is not None and id(t) not in inner):
                continue
            needed.add(id(t))
            stack.extend(t.inputs)
        roots = [t for t in order if id(t) in needed] + roots
    for root in roots:
        stack = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in vid:
                continue
            if not isinstance(t, SymbolicTensor) or t.op is None or (inner is not None and id(t) not in inner):
                value_of(t)
                continue
            if expanded:
                ins = [value_of(x) for x in t.inputs]
                out = g.new_value("node", t.shape, t.dtype)
                g.nodes.append(Node(t.op, ins, t.attrs, out))
                vid[id(t)] = out
                keep.append(t)
                continue
            stack.append((t, True))
            for x in reversed(t.inputs):
                if id(x) not in vid:
                    stack.append((x, False))
    g.outputs = [value_of(t) for t in tree.flatten(outputs) if isinstance(t, (Tensor, SymbolicTensor))]
    g.updates = [(var, value_of(value)) for var, value in updates]
    return (g, outputs, free) if allow_free else (g, outputs)


def placeholder_for(x):
    """The symbolic tensor standing for argument leaf `x`."""
    return SymbolicTensor(tuple(x.shape), x.dtype)


def convert_argument(x):
    """Tensors and arrays become tensor arguments; Variables and everything else stay as they
    are. A numpy integer or bool scalar (np.int64(2)) is a Python value, as a Python int is: ops
    take it for a size, a count or an axis (as a tensor, `ops.tile(x, np.int64(2))` had nothing
    to read its repeats from); a numpy float scalar is data, a tensor argument."""
    if isinstance(x, (Tensor, SymbolicTensor)):
        return x
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    if hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype"):
        return convert_to_tensor(x)
    return x
