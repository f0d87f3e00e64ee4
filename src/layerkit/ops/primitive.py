"""Primitives: the ops with a kernel. Each is defined exactly once — forward kernel, shape/dtype
rule, gradient rule — and `apply` is the single dispatch point that eager execution, the
gradient tape and symbolic shape inference all go through.
"""
from layerkit.ops.operation import Operation
from layerkit.ops.tensor import SymbolicTensor, Tensor

import threading

# name -> Primitive
REGISTRY = {}


class _TraceState(threading.local):
    """Per thread: the tracer recording ops into a graph (layerkit.graph installs it while it
    traces a function), or None; and the recorders, objects with a `record(op, inputs, attrs,
    output)` method: the active gradient tapes (layerkit.autodiff pushes and pops them; ops know
    nothing of what they do with the record). A tracer has `apply(op, inputs, attrs)` and
    `assign(variable, value)`. A tape records its own thread's ops only: a tape open in one
    thread neither sees another thread's ops nor turns its compiled functions eager."""

    tracer = None

    def __init__(self):
        self.recorders = []


TRACE = _TraceState()


def is_tracing():
    return TRACE.tracer is not None
class TupleGrad:
    """The gradient `g` of element `index` of a tuple-valued node (a loop's results, read by
    `tuple_get`): the tape gathers them per index and hands the node's gradient rule a dict
    index -> gradient (indices nothing reached are absent)."""

    __slots__ = ("index", "g")

    def __init__(self, index, g):
        self.index, self.g = index, g


class Primitive(Operation):
    """An op with a kernel.

    Args:
        name: the op's name (also its key in `REGISTRY`).
        forward: `forward(*arrays, **attrs) -> ndarray`; arrays are C-contiguous numpy arrays and
            every array computation in it goes through `backend.core` kernels.
        infer: `infer(*inputs, **attrs) -> (shape, dtype)`; inputs have `.shape`/`.dtype` only
            (dimensions may be None). Raises ValueError/TypeError for invalid inputs.
        grad: `grad(ctx, g) -> tuple` of one gradient (a Tensor, or None) per input, written in
            layerkit ops so the backward pass is differentiable too. `ctx.inputs`, `ctx.output`,
            `ctx.attrs` and `ctx.needs(i)` (does input i need a gradient) are available.
            None: the op is not differentiable (comparisons, argmax, ...).
        kernels: names of the `_core` kernels `forward` calls.
        view: the output may share memory with the first input (reshape); apply copies when
            that input is a Variable, whose buffer is updated in place.
    """

    def __init__(self, name, forward, infer, grad=None, kernels=(), view=False):
        super().__init__(name=name)
        self.forward = forward
        self.infer = infer
        self.grad = grad
        self.kernels = tuple(kernels)
        self.view = view

    def call(self, *inputs, **attrs):
        return apply(self, *inputs, **attrs)

    def __repr__(self):
        return f"<Primitive {self.name}>"


def register(name, forward, infer, grad=None, kernels=(), view=False):
    if name in REGISTRY:
        raise ValueError(f"A primitive named {name!r} is already registered.")
    op = Primitive(name, forward, infer, grad, kernels, view)
    REGISTRY[name] = op
    return op


def apply(op, *inputs, **attrs):
    """Runs primitive `op` on tensors `inputs` (already converted by the op's function)."""
    tracer = TRACE.tracer
    if tracer is not None:
        return tracer.apply(op, inputs, attrs)
    try:
        n = len(inputs)  # unpacked by hand for one and two inputs: a list comprehension costs ~0.15 us
        if n == 2:
            data = op.forward(inputs[0]._data, inputs[1]._data, **attrs)
        elif n == 1:
            data = op.forward(inputs[0]._data, **attrs)
        else:
            data = op.forward(*[x._data for x in inputs], **attrs)
    except AttributeError:
        if not any(x.__class__ is SymbolicTensor for x in inputs):
            raise
        # symbolic inputs have no data: the shape rule alone gives the output
        shape, dtype = op.infer(*inputs, **attrs)
        return SymbolicTensor(shape, dtype, op=op, inputs=inputs, attrs=attrs)
    if op.view and inputs[0].__class__ is not Tensor:
        data = data.copy()  # a Variable's buffer changes on assign; a view of it must not
    out = Tensor(data)
    recorders = TRACE.recorders
    if recorders:
        for r in recorders:
            r.record(op, inputs, attrs, out)
    return out
