"""GradientTape: eager reverse-mode automatic differentiation over recorded primitives."""
import numpy as np

from layerkit.ops import add, ones_like, zeros_like
from layerkit.ops.layout import SliceGrad, scatter_slices
from layerkit.ops.primitive import TRACE, TupleGrad
from layerkit.ops.tensor import SymbolicTensor, Tensor
from layerkit.autodiff.variable import Variable


_TENSORS = (Tensor, SymbolicTensor)


class _Node:
    """One recorded primitive application; also the `ctx` its gradient rule receives."""

    __slots__ = ("op", "inputs", "attrs", "output", "_needs", "_versions")

    def __init__(self, op, inputs, attrs, output, needs, versions):
        self.op, self.inputs, self.attrs, self.output, self._needs = op, inputs, attrs, output, needs
        # a Variable input is read through its live buffer: remember which value the op saw
        self._versions = versions

    def check_versions(self):
        # (in a traced function a recorded read of the variable itself came before any assign of
        # it in the trace, and the assign changes no version yet: the tracer's record tells)
        assigned = getattr(TRACE.tracer, "current", None)
        for v, version in self._versions:
            if v._version != version or (assigned and id(v) in assigned):
                raise RuntimeError(f"GradientTape.gradient: variable '{v.name}' was assigned after the tape "
                                   f"recorded '{self.op.name}' on it, so its recorded value is gone; take the "
                                   "gradient before updating the variable.")

    def needs(self, i):
        return self._needs[i]


def _flatten(x):
    """(leaves, rebuild) for a tensor, a list/tuple, or a dict of them."""
    if isinstance(x, dict):
        keys = list(x)
        return [x[k] for k in keys], lambda vals: dict(zip(keys, vals))
    if isinstance(x, (list, tuple)):
        kind = type(x)
        return list(x), (lambda vals: kind(vals))
    return [x], lambda vals: vals[0]


class GradientTape:
    """Records the ops run inside its `with` block so gradients can be taken afterwards.

    Trainable variables used in the block are watched automatically; other tensors need
    `tape.watch(x)`. Gradient rules are themselves ops, so nesting tapes gives higher-order
    derivatives.

    Args:
        persistent: allow several `gradient()` calls (otherwise the record is freed by the first).
        watch_accessed_variables: watch trainable variables automatically.

    Example:
    >>> import layerkit as lk
    >>> x = lk.Variable(3.0)
    >>> with lk.GradientTape() as tape:
    ...     y = x * x
    >>> float(tape.gradient(y, x))
    6.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._nodes = []
        self._watched = {}  # id -> tensor (keeping it alive keeps the id unique)
        self._recording = False
        self._used = False

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _start(self):
        if not self._recording:
            TRACE.recorders.append(self)
            self._recording = True

    def _stop(self):
        if self._recording:
            TRACE.recorders.remove(self)
            self._recording = False

    def watch(self, tensor):
        """Records operations on `tensor` (a tensor, or a list/dict of them) from now on."""
        for t in _flatten(tensor)[0]:
            if not isinstance(t, (Tensor, SymbolicTensor)):  # symbolic inside a traced function
                raise TypeError(f"GradientTape.watch: expected a Tensor or Variable, received {type(t).__name__}.")
            self._watched[id(t)] = t

    def watched_variables(self):
        return [t for t in self._watched.values() if isinstance(t, Variable)]

    def record(self, op, inputs, attrs, output):
        if op.grad is None:
            return  # not differentiable: nothing to propagate through it
        watched = self._watched
        needs = []
        versions = ()
        any_needed = False
        assigned = getattr(TRACE.tracer, "assigned", None)  # in a traced function: assigned values
        for x in inputs:
            need = id(x) in watched
            if not need and assigned and id(x) in assigned:
                # a variable's value after an assign in the traced function stands for the
                # variable, as the variable itself does eagerly
                var = assigned[id(x)][0]
                need = id(var) in watched or (var.trainable and self.watch_accessed_variables)
                if need:
                    watched[id(x)] = x
            if isinstance(x, Variable):
                if not need and x.trainable and self.watch_accessed_variables:
                    watched[id(x)] = x
                    need = True
                versions += ((x, x._version),)
            needs.append(need)
            any_needed = any_needed or need
        if any_needed:
            self._nodes.append(_Node(op, inputs, attrs, output, needs, versions))
            watched[id(output)] = output

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of `target` (a tensor, or a list of them, summed) with respect to `sources`
        (a tensor, list or dict; the result has the same structure).

        Args:
            output_gradients: upstream gradients for the targets (ones when None).
            unconnected_gradients: "none" (None for sources the target does not depend on) or "zero".
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"GradientTape.gradient: `unconnected_gradients` must be 'none' or 'zero', "
                             f"received {unconnected_gradients!r}.")
        if self._used and not self.persistent:
            raise RuntimeError("GradientTape.gradient can only be called once on a non-persistent tape; "
                               "create the tape with persistent=True to call it several times.")
        self._used = True
        targets = _flatten(target)[0]
        src_leaves, rebuild = _flatten(sources)
        for s in src_leaves:
            if not isinstance(s, _TENSORS):
                raise TypeError(f"GradientTape.gradient: sources must be Tensors or Variables, received "
                                f"{type(s).__name__}.")
        ups = [None] * len(targets) if output_gradients is None else _flatten(output_gradients)[0]
        if len(ups) != len(targets):
            raise ValueError(f"GradientTape.gradient: `output_gradients` has {len(ups)} entries for {len(targets)} "
                             "targets; pass one per target.")
        for k, (t, u) in enumerate(zip(targets, ups)):
            shape = getattr(u, "shape", None) if u is not None else None
            if shape is not None and None not in tuple(shape) and None not in tuple(t.shape) and \
                    tuple(shape) != tuple(t.shape):
                raise ValueError(f"GradientTape.gradient: output_gradients[{k}] has shape {tuple(shape)}, expected the "
                                 f"shape of its target, {tuple(t.shape)}.")
        was_recording = self._recording
        self._stop()  # the backward pass is recorded by outer tapes only
        try:
            grads = {}
            sliced = {}  # id(tensor) -> SliceGrads not yet written into one dense gradient

            def total(tid):
                g, parts = grads.get(tid), sliced.pop(tid, None)
                if parts:
                    dense = scatter_slices(parts)
                    g = grads[tid] = dense if g is None else add(g, dense)
                return g

            for t, u in zip(targets, ups):
                if u is not None:
                    g = u
                elif t.__class__ is Tensor:  # the usual eager scalar loss: skip ones_like's conversions
                    g = Tensor(np.ones(t._data.shape, t._data.dtype))
                else:
                    g = ones_like(t)
                grads[id(t)] = g if id(t) not in grads else add(grads[id(t)], g)
            # reverse recording order is reverse topological: a gradient is complete before use
            for node in reversed(self._nodes):
                g = total(id(node.output))
                if g is None:
                    continue
                node.check_versions()
                for x, need, gx in zip(node.inputs, node._needs, node.op.grad(node, g)):
                    if not need or gx is None:
                        continue
                    if isinstance(gx, SliceGrad):
                        sliced.setdefault(id(x), []).append(gx)
                    elif isinstance(gx, TupleGrad):  # one element of a loop's results
                        parts = grads.setdefault(id(x), {})
                        parts[gx.index] = gx.g if gx.index not in parts else add(parts[gx.index], gx.g)
                    else:
                        prev = grads.get(id(x))
                        grads[id(x)] = gx if prev is None else add(prev, gx)
            result = []
            current = getattr(TRACE.tracer, "current", {})  # in a traced function: assigned variables
            for s in src_leaves:
                # a variable assigned in the traced function: the gradient of its value now
                g = total(id(current[id(s)]) if isinstance(s, Variable) and id(s) in current else id(s))
                if g is None and unconnected_gradients == "zero":
                    g = zeros_like(s)
                result.append(g)
        finally:
            if was_recording:
                self._start()
            if not self.persistent:
                self._nodes, self._watched = [], {}
        return rebuild(result)

    def stop_recording(self):
        """A context in which this tape records nothing."""
        tape = self

        class _Paused:
            def __enter__(self):
                self.was = tape._recording
                tape._stop()

            def __exit__(self, *exc):
                if self.was:
                    tape._start()
        return _Paused()

    def reset(self):
        self._nodes, self._watched, self._used = [], {}, False
