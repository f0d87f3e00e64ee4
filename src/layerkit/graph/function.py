"""lk.function: trace a Python function once per input signature into an optimized graph.

Example:
>>> import layerkit as lk
>>> @lk.function
... def f(x, y):
...     return lk.ops.relu(x @ y + 1.0)
>>> f(lk.ops.ones((2, 3)), lk.ops.ones((3, 4))).shape
(2, 4)
"""
import functools
import warnings

import numpy as np

from layerkit.backend import as_array
from layerkit.graph.native import make_plan
from layerkit.graph.passes import optimize
from layerkit.graph.trace import convert_argument, placeholder_for, trace
from layerkit.ops import SymbolicTensor, Tensor, convert_to_tensor
from layerkit.ops.primitive import TRACE
from layerkit.utils import tree

# A function traced this many times has its signature changing every call: say so.
RETRACE_WARNING = 5


def _fits(shape, generic):
    return len(shape) == len(generic) and all(g is None or g == d for d, g in zip(shape, generic))


def _widen(generic, shape):
    """`generic` with None where `shape` differs (all None for another rank)."""
    if len(generic) != len(shape):
        return tuple(None for _ in shape)
    return tuple(g if g == d else None for g, d in zip(generic, shape))


class TensorSpec:
    """The shape (None for any size) and dtype a traced function's argument must have."""

    def __init__(self, shape, dtype="float32", name=None):
        self.shape, self.dtype, self.name = tuple(shape), dtype, name

    def is_compatible_with(self, t):
        return len(t.shape) == len(self.shape) and t.dtype == self.dtype and all(
            s is None or s == d for s, d in zip(self.shape, t.shape))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r})"


class ConcreteFunction:
    """One trace: the graph as traced, the optimized graph, and the plan that runs it."""

    def __init__(self, name, traced, outputs_structure):
        self.name = name
        self.traced_graph = traced
        self.graph = optimize(traced)
        self.structure = outputs_structure
        self._single = isinstance(outputs_structure, (Tensor, SymbolicTensor))
        self.plan = make_plan(self.graph)

    def __call__(self, tensor_args):
        return self.run_arrays([t._data for t in tensor_args])

    def run_arrays(self, arrays):
        """The results for the tensor arguments' arrays, in the function's output structure."""
        results = self.plan.run(arrays)
        if self._single:
            return results[0]
        results = iter(results)
        return tree.map_structure(
            lambda o: next(results) if isinstance(o, (Tensor, SymbolicTensor)) else o, self.structure)

    def kernel_count(self):
        return len(self.graph.nodes)

    def report(self):
        return (f"{self.name}: {len(self.traced_graph.nodes)} ops traced, {len(self.graph.nodes)} kernels per call "
                f"after optimization\n--- traced ---\n{self.traced_graph}\n--- optimized ---\n{self.graph}")


class _ByIdentity:
    """An unhashable Python argument in a cache key: equal only to itself, and kept alive."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return other.__class__ is _ByIdentity and other.obj is self.obj


class Function:
    """A Python function traced into a graph per input signature (see `function`)."""

    def __init__(self, fn, input_signature=None, reduce_retracing=False, name=None):
        self.fn = fn
        self.input_signature = input_signature
        self.reduce_retracing = reduce_retracing
        self.name = name or getattr(fn, "__name__", "function")
        self._cache = {}
        # (class, shape, dtype) of each argument -> its concrete function, for calls with arrays
        # or tensors only: such a call skips the general signature walk
        self._by_arrays = {}
        # with reduce_retracing: per tensor argument, the shape traced for every call so far, None
        # where the calls' sizes differed (TensorFlow's relaxation: only what changed)
        self._generic = None
        self.trace_count = 0
        self._traced = False  # a trace has completed: later traces must not create variables
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):  # used as a method decorator
        if obj is None:
            return self
        bound = self.__dict__.setdefault("_bound", {})
        if id(obj) not in bound:
            bound[id(obj)] = Function(self.fn.__get__(obj, objtype), self.input_signature, self.reduce_retracing,
                                      self.name)
        return bound[id(obj)]

    def _leaves(self, args, kwargs):
        if self.input_signature is not None and len(args) == len(self.input_signature):
            # an argument given as Python values (a list of floats) is the tensor its spec describes
            args = tuple(convert_to_tensor(np.asarray(a, dtype=s.dtype)) if isinstance(s, TensorSpec) and isinstance(
                a, (list, tuple, int, float, bool)) else a for a, s in zip(args, self.input_signature))
        if not kwargs and all(a.__class__ is Tensor or type(a) is np.ndarray for a in args):
            # the common call, arrays or tensors only: no structure to walk
            tensors = [a if a.__class__ is Tensor else convert_to_tensor(a) for a in args]
            return tuple(tensors), kwargs, tensors, tensors
        args, kwargs = tree.map_structure(convert_argument, (args, kwargs))
        leaves = tree.flatten((args, kwargs))
        tensors = [x for x in leaves if isinstance(x, Tensor) and x.__class__ is Tensor]
        return args, kwargs, leaves, tensors

    def _key(self, leaves, shapes=None, structure=None):
        """The cache key of a call: the arguments' nesting (`structure`: container types and dict
        keys), per tensor argument its shape (or the generic one given in `shapes`, one per tensor
        argument) and dtype; variables by identity; Python values by value, or by identity when
        they cannot be hashed (kept alive by the key, so that a new object never takes a dead
        one's id and its trace)."""
        parts, k = [structure], 0
        for x in leaves:
            if isinstance(x, Tensor) and x.__class__ is Tensor:
                shape = tuple(x.shape) if shapes is None else shapes[k]
                k += 1
                parts.append(("T", shape, x.dtype))
            elif isinstance(x, Tensor):
                parts.append(("V", id(x)))  # a Variable: captured by reference
            else:
                try:
                    hash(x)
                    parts.append(("P", type(x).__name__, x))
                except TypeError:
                    parts.append(("O", _ByIdentity(x)))
        return tuple(parts)

    def get_concrete_function(self, *args, **kwargs):
        return self._lookup(*self._leaves(args, kwargs))

    def _lookup(self, args, kwargs, leaves, tensors):
        structure = tree.structure((args, kwargs))
        if self.input_signature is not None:
            self._check_signature(tensors)
            specs = [tuple(s.shape) for s in tree.flatten(self.input_signature)]
            key = self._key(leaves, specs, structure)
            if key not in self._cache:
                self._cache[key] = self._trace(args, kwargs, tensors, specs)
            return self._cache[key]
        key = self._key(leaves, structure=structure)
        if key in self._cache:
            return self._cache[key]
        if self.reduce_retracing:
            shapes = [tuple(t.shape) for t in tensors]
            generic = self._generic
            if generic is None or len(generic) != len(shapes):
                generic = self._generic = shapes  # the first call: its own shapes
            elif not all(_fits(s, g) for s, g in zip(shapes, generic)):
                generic = self._generic = [_widen(g, s) for g, s in zip(generic, shapes)]  # unknown what changed
            key = self._key(leaves, generic, structure)
            if key not in self._cache:
                self._cache[key] = self._trace(args, kwargs, tensors, generic)
            return self._cache[key]
        self._cache[key] = self._trace(args, kwargs, tensors, None)
        return self._cache[key]

    def _check_signature(self, tensors):
        specs = tree.flatten(self.input_signature)
        if len(specs) != len(tensors) or not all(s.is_compatible_with(t) for s, t in zip(specs, tensors)):
            got = [(tuple(t.shape), t.dtype) for t in tensors]
            raise ValueError(f"function '{self.name}' was called with tensors {got}, which do not match its "
                             f"input_signature {specs}.")

    def _trace(self, args, kwargs, tensors, shapes):
        """A trace with placeholders of `shapes` (one per tensor argument; None: their own)."""
        self.trace_count += 1
        if self.trace_count == RETRACE_WARNING:
            warnings.warn(f"function '{self.name}' has been traced {self.trace_count} times: its input shapes, "
                          "dtypes or Python arguments keep changing. Pass reduce_retracing=True or an "
                          "input_signature with None dimensions to trace once for all shapes.", stacklevel=4)
        placeholders = {}
        for i, t in enumerate(tensors):
            placeholders[id(t)] = SymbolicTensor(shapes[i], t.dtype) if shapes is not None else placeholder_for(t)
        sym_args, sym_kwargs = tree.map_structure(lambda x: placeholders.get(id(x), x), (args, kwargs))
        graph, outputs = trace(self.fn, sym_args, sym_kwargs, placeholders, self.name, first=not self._traced)
        self._traced = True
        return ConcreteFunction(self.name, graph, outputs)

    def __call__(self, *args, **kwargs):
        if TRACE.tracer is not None or TRACE.recorders:
            # called while another function is traced: inlined there; under a recording tape: run
            # op by op, so the tape sees them (a plan's run records nothing to differentiate)
            return self.fn(*args, **kwargs)
        key = None
        if not kwargs:
            try:
                key = tuple((a.__class__, a.shape, a.dtype) for a in args)
                concrete = self._by_arrays.get(key)
            except (AttributeError, TypeError):  # not arrays, or unhashable
                concrete = key = None
            if concrete is not None:  # arrays go to the plan as they are (as_array: only checks)
                return concrete.run_arrays([a._data if a.__class__ is Tensor else as_array(a) for a in args])
        args_, kwargs_, leaves, tensors = self._leaves(args, kwargs)
        concrete = self._lookup(args_, kwargs_, leaves, tensors)
        if not kwargs and key is not None and all(a.__class__ is Tensor or type(a) is np.ndarray for a in args):
            self._by_arrays[key] = concrete
        return concrete(tensors)

    def get_graph(self, *args, **kwargs):
        """The optimized graph for these arguments (printable; `.kernel_counts()`)."""
        return self.get_concrete_function(*args, **kwargs).graph


def function(fn=None, input_signature=None, reduce_retracing=False, jit_compile=None):
    """Compiles `fn` into a graph: traced with symbolic tensors once per input signature
    (shapes and dtypes of tensor arguments, values of the others), optimized (dead code,
    common subexpressions, constant folding, algebraic simplification), and run without the
    Python interpreter between ops.

    Variables are captured by reference and their assignments are part of the graph. Python
    control flow runs at trace time. Usable as a decorator, with or without arguments.

    Variables the function creates (a model built on its first call) are created on its first
    trace only and kept across calls, as with TensorFlow's tf.function: a variable created inside
    holds its value from call to call, and a later trace that would create new ones is refused.

    Called while another function is traced, it is inlined into that trace. Called under a
    recording `GradientTape`, it runs op by op, so that the tape can differentiate it (put the
    tape inside the function to compile the gradient too).

    Args:
        input_signature: a list of `TensorSpec`s (None dims allowed): trace once for all
            matching inputs.
        reduce_retracing: after the first trace, a call with new shapes traces once more with
            the dimensions that changed unknown (as TensorFlow does), instead of once per new
            shape; further calls that fit reuse that trace.
    """
    if fn is None:
        return lambda f: Function(f, input_signature, reduce_retracing)
    return Function(fn, input_signature, reduce_retracing)
