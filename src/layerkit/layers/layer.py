"""Layer: an Operation with state (weights) and a lifecycle.

    __init__   stores hyperparameters, creates sublayers (must call super().__init__(**kwargs))
    build      creates weights with add_weight once the input shape is known (runs by itself
               before the first call; `built` is set when it returns)
    call       the forward pass, written with layerkit ops; the same code runs on eager tensors
               and on symbolic ones (Functional models), where only shapes flow

Sublayers and variables assigned to attributes — directly or inside lists, tuples and dicts,
nested — are tracked, so `weights`, `trainable`, `losses` and saving see them.
"""
import functools
import inspect
import threading

import numpy as np

from layerkit.autodiff import Variable
from layerkit.backend import floatx, standardize_dtype
from layerkit.layers.input_spec import InputSpec, check_input_spec
from layerkit.layers.node import Node
from layerkit.ops import SymbolicTensor, Tensor, convert_to_tensor
from layerkit.ops.operation import Operation
from layerkit.ops.primitive import TRACE, is_tracing
from layerkit.utils import tree

_CONTEXT = threading.local()
# Attributes of the base class itself that hold no state to track.
_UNTRACKED = frozenset({"_losses", "_inbound_nodes", "_batch_input_shape", "input_spec", "built", "name", "dtype",
                        "activity_regularizer", "supports_masking"})


class _CallContext:
    """State shared by nested layer calls: the training flag flows from the outer call into the
    inner ones, and only the outermost symbolic call records a Functional node."""

    def __init__(self, entry_layer, training, symbolic):
        self.entry_layer = entry_layer
        self.training = training
        self.symbolic = symbolic


def _current_context():
    return getattr(_CONTEXT, "ctx", None)


def shape_only(x):
    """Whether `x` is a symbolic tensor of a Functional model's shape inference: a layer then
    skips what only data needs (noise and dropout, which keep the shape; updates of its state).
    Inside `lk.function`, symbolic tensors stand for data and the layer runs as eagerly."""
    return isinstance(x, SymbolicTensor) and not is_tracing()


def _standardize_layer_dtype(dtype):
    if dtype is None:
        return floatx()
    if isinstance(dtype, dict):  # a serialized Keras DTypePolicy
        dtype = dtype.get("config", {}).get("name", floatx())
    name = getattr(dtype, "name", dtype)
    if name == "mixed_float16" or name == "mixed_bfloat16":
        raise ValueError(f"Mixed-precision policy {name!r} is not supported; layerkit computes in float32/float64.")
    return standardize_dtype(name)


class Layer(Operation):
    """The base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        dtype: the dtype of the layer's weights and computations (floatx by default).
        name: a unique, readable name (made up from the class name when None).
        activity_regularizer: a regularizer applied to the layer's output, added to `losses`.
        input_shape: (first layer of a Sequential model) the shape of one sample.

    Example:
    >>> import layerkit as lk
    >>> class Scale(lk.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")
    ...     def call(self, x):
    ...         return x * self.s
    >>> Scale()(lk.ops.ones((2, 3))).shape
    (2, 3)
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        d = obj.__dict__
        d["_auto_config"] = (args, kwargs)
        # Wrap the most derived build: whatever the user's build does, `built` is set and the
        # layer's state locked when it returns (Keras 3 does the same).
        user_build = obj.build

        @functools.wraps(user_build)
        def build_wrapper(*a, **k):
            obj._check_super_called()
            d["_building"] = True
            try:
                user_build(*a, **k)
            finally:
                d["_building"] = False
            d["_build_shapes"] = (a, k)
            obj.built = True
            d["_locked"] = True

        d["build"] = build_wrapper
        return obj

    def __init__(self, *, trainable=True, dtype=None, name=None, activity_regularizer=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        kwargs.pop("autocast", None)
        if kwargs:
            raise ValueError(f"{type(self).__name__}: unrecognized keyword arguments {sorted(kwargs)}.")
        super().__init__(name=name)
        d = self.__dict__
        d["_initialized"] = True
        d["_tracked"] = {}
        d["_trainable_variables"] = []
        d["_non_trainable_variables"] = []
        d["_locked"] = False
        d["_trainable"] = bool(trainable)
        self.built = False
        self.dtype = _standardize_layer_dtype(dtype)
        self._losses = []
        self._inbound_nodes = []
        self.input_spec = None
        self.supports_masking = not _is_default(self, "compute_mask")
        from layerkit import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, input_dim)

    # ---- tracking ------------------------------------------------------------------------------

    def _check_super_called(self):
        if not self.__dict__.get("_initialized"):
            raise RuntimeError(f"In layer '{type(self).__name__}', you forgot to call `super().__init__(**kwargs)` "
                               "in `__init__()`. Call it first, before setting attributes.")

    def __setattr__(self, name, value):
        d = self.__dict__
        if d.get("_initialized") and name not in _UNTRACKED:
            if isinstance(value, (Layer, Variable, list, tuple, dict)):
                d["_tracked"][name] = value
                if isinstance(value, Variable):
                    self._track_variable(value)
            else:
                d["_tracked"].pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_tracked", {}).pop(name, None)
        object.__delattr__(self, name)

    def _track_variable(self, v):
        own = self._trainable_variables if v.trainable else self._non_trainable_variables
        if not any(v is w for w in self._trainable_variables + self._non_trainable_variables):
            own.append(v)

    @property
    def _layers(self):
        """Direct sublayers, in the order their attributes were set (containers walked in order)."""
        seen, out = set(), []

        def walk(v):
            if isinstance(v, Layer):
                if id(v) not in seen and v is not self:
                    seen.add(id(v))
                    out.append(v)
            elif isinstance(v, dict):
                for item in v.values():
                    walk(item)
            elif isinstance(v, (list, tuple)):
                for item in v:
                    walk(item)
        for value in self.__dict__.get("_tracked", {}).values():
            walk(value)
        return out

    def _flatten_layers(self, include_self=True, recursive=True):
        out = [self] if include_self else []
        for layer in self._layers:
            out.append(layer)
            if recursive:
                out.extend(layer._flatten_layers(include_self=False))
        return out

    # ---- weights -----------------------------------------------------------------------------

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, autocast=True, aggregation="none", overwrite_with_gradient=False):
        """Creates a weight variable of this layer (call it in `build`).

        Args:
            shape: the variable's shape (a scalar when None).
            initializer: an initializer, its name, or a callable `f(shape, dtype)`; by default
                "glorot_uniform" for float weights and "zeros" otherwise.
            dtype: the variable's dtype (the layer's dtype by default).
            trainable: whether gradients update it.
            regularizer: a regularizer (or its name); its value joins `layer.losses`.
            constraint: a constraint (or its name) applied after each optimizer update.
            name: the variable's name, unique within the layer (e.g. "kernel").
        """
        self._check_super_called()
        if self.__dict__.get("_locked"):
            raise RuntimeError(
                f"Layer '{self.name}' ({type(self).__name__}) is already built, so it cannot create the new weight "
                f"{name!r} (was add_weight called from call()?). Create every weight in build(), which runs "
                "once, before the first call, when the input shape is known.")
        from layerkit import constraints, initializers, regularizers

        dtype = _standardize_layer_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype in ("float32", "float64") else "zeros"
        init = initializers.get(initializer)
        shape = () if shape is None else tuple(int(d) for d in shape)
        for d in shape:
            if d < 0:
                raise ValueError(f"Layer '{self.name}': weight {name!r} has a negative dimension in shape {shape}.")
        v = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name or "variable")
        v.path = f"{self.name}/{v.name}"
        v.regularizer = regularizers.get(regularizer)
        v.constraint = constraints.get(constraint)
        self._track_variable(v)
        return v

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing (False) or unfreezing a layer applies to its variables and sublayers too."""
        value = bool(value)
        self.__dict__["_trainable"] = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        """All weights: this layer's own (trainable first, then non-trainable, each in creation
        order — Keras's order, which files and `set_weights` rely on), then each sublayer's."""
        seen, out = set(), []
        for v in self._trainable_variables + self._non_trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._layers:
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.trainable] if self.trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return self.weights if not self.trainable else [v for v in self.weights if not v.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights' values as numpy arrays, in `weights` order."""
        return [np.array(v) for v in self.weights]

    def set_weights(self, weights):
        """Sets the weights from numpy arrays (in `weights` order), checking count and shapes."""
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Layer '{self.name}' has {len(params)} weights "
                             f"({[v.name for v in params]}), but set_weights received {len(weights)} arrays.")
        for v, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"Layer '{self.name}': weight '{v.name}' has shape {tuple(v.shape)}, but "
                                 f"set_weights received an array of shape {tuple(w.shape)}.")
        for v, w in zip(params, weights):
            v.assign(w)

    def count_params(self):
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet, so its weights do not exist: call it on data "
                             "or call build(input_shape) first.")
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # ---- losses ------------------------------------------------------------------------------

    def add_loss(self, loss):
        """Adds a scalar loss (e.g. an activity penalty computed in `call`) to `losses`."""
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call (add_loss, activity regularizers) by this layer and
        its sublayers, then the weight regularization penalties, computed from current values."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
        for v in self.trainable_weights:
            if getattr(v, "regularizer", None) is not None:
                out.append(v.regularizer(v))
        return out

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses.clear()

    # ---- lifecycle -----------------------------------------------------------------------------

    def build(self, input_shape=None):
        """Creates the layer's weights. Layers with weights override it (`built` is set when any
        override returns). The base builds a layer made of sublayers — a composition, or a
        subclassed Model — by running `call` on symbolic inputs of `input_shape`, so the
        sublayers create their weights without any data."""
        if input_shape is not None and self._layers:
            self.compute_output_spec(symbolic_inputs(input_shape, self.dtype))

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def _call_parameters(self):
        return _signature(type(self)).parameters

    def __call__(self, *args, **kwargs):
        self._check_super_called()
        if not args:
            # inputs passed by keyword: `inputs=`, or the name of call()'s first argument
            first = next((n for n in self._call_parameters() if n != "self"), "inputs")
            name = "inputs" if "inputs" in kwargs else first
            if name not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs (expected `{first}`).")
            args = (kwargs.pop(name),)
        inputs = tree.map_structure(_to_tensor, args[0])
        args = (inputs,) + args[1:]
        call_kwargs = dict(kwargs)  # as the caller wrote them: what a Functional node replays
        params = self._call_parameters()
        flat_inputs = tree.flatten(inputs)
        # inside a traced function symbolic tensors stand for data: the layer runs as in eager mode
        symbolic = not is_tracing() and any(isinstance(x, SymbolicTensor) for x in flat_inputs)
        outer = _current_context()
        # training: explicit argument, else what the enclosing call received, else the default
        training = kwargs.get("training")
        if training is None and outer is not None:
            training = outer.training
        if "training" in params:
            if training is not None:
                kwargs["training"] = training
            elif params["training"].default is not inspect.Parameter.empty:
                training = params["training"].default
        else:
            kwargs.pop("training", None)
        if "mask" in params and kwargs.get("mask") is None:
            masks = tree.map_structure(lambda x: getattr(x, "_keras_mask", None), inputs)
            if any(m is not None for m in tree.flatten(masks)):
                kwargs["mask"] = masks
        check_input_spec(self, inputs)  # before build, as Keras: a wrong rank never reaches build()
        if not self.built:
            self._maybe_build(args, kwargs)
            check_input_spec(self, inputs)
        if outer is None and not symbolic:
            self._clear_losses()
            if is_tracing():  # its losses hold values of the trace: the tracer clears them after it
                getattr(TRACE.tracer, "called_layers", []).append(self)
        ctx = _CallContext(outer.entry_layer if outer else self, training, symbolic)
        _CONTEXT.ctx = ctx
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            _CONTEXT.ctx = outer
        if self.supports_masking or not _is_default(self, "compute_mask"):
            previous = kwargs.get("mask")
            if previous is None:  # a call() without a mask argument still passes the input mask on
                masks = tree.map_structure(lambda x: getattr(x, "_keras_mask", None), inputs)
                previous = masks if any(m is not None for m in tree.flatten(masks)) else None
            out_mask = self.compute_mask(inputs, previous)
            if out_mask is not None:
                for o, m in zip(tree.flatten(outputs), tree.flatten(out_mask) if tree.is_nested(out_mask)
                                else [out_mask] * len(tree.flatten(outputs))):
                    if isinstance(o, (Tensor, SymbolicTensor)):
                        o._keras_mask = m
        if symbolic and (outer is None or not outer.symbolic):
            outputs = Node.record(self, args, call_kwargs, outputs)
        elif self.activity_regularizer is not None and not symbolic:
            for o in tree.flatten(outputs):
                loss = self.activity_regularizer(o)
                if o.ndim > 0:  # a mean over the batch, as in Keras 3
                    if o.shape[0] is None:  # traced over an unknown batch: its size when the graph runs
                        from layerkit import ops

                        rows = o[(slice(None),) + (0,) * (o.ndim - 1)]
                        loss = loss / ops.sum(ops.ones_like(rows, dtype=loss.dtype))
                    else:
                        loss = loss / o.shape[0]
                self.add_loss(loss)
        return outputs

    def _maybe_build(self, args, kwargs):
        if _is_default(self, "build"):
            self.build()  # a composition: its sublayers build themselves in the call that follows
            return
        shapes = tree.map_structure(lambda x: tuple(x.shape) if hasattr(x, "shape") else None, args[0])
        sig = _signature(type(self), "build").parameters
        names = [n for n in sig if n != "self"]
        if len(names) <= 1 or not _is_default(self, "build") and names[0] in ("input_shape", "inputs_shape"):
            self.build(shapes) if names else self.build()
            return
        # build(query_shape, value_shape, ...): shapes by the names of call()'s arguments
        call_params = [n for n in self._call_parameters() if n != "self"]
        bound = dict(zip(call_params, args))
        bound.update(kwargs)
        build_args = {}
        for n in names:
            src = bound.get(n[:-len("_shape")]) if n.endswith("_shape") else None
            if src is not None:
                build_args[n] = tree.map_structure(lambda x: tuple(x.shape), src)
        self.build(**build_args)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        """The output shape for an input shape, found by running `call` on symbolic tensors
        (override it when `call` cannot run on shapes alone)."""
        if _is_default(self, "compute_output_spec"):
            spec = self.compute_output_spec(symbolic_inputs(input_shape, self.dtype), *args, **kwargs)
            return tree.map_structure(lambda t: tuple(t.shape), spec)
        raise NotImplementedError(f"Layer {type(self).__name__} should implement compute_output_shape().")

    def compute_output_spec(self, *args, **kwargs):
        if not _is_default(self, "compute_output_shape"):
            shapes = tree.map_structure(lambda x: tuple(x.shape), args[0])
            out = self.compute_output_shape(shapes)
            return symbolic_inputs(out, self.dtype)  # one shape, or a list/dict of shapes
        ctx = _current_context()
        _CONTEXT.ctx = _CallContext(self, None, True)
        try:
            if not self.built and not self.__dict__.get("_building"):
                self._maybe_build(args, kwargs)
            return self.call(*args, **kwargs)
        finally:
            _CONTEXT.ctx = ctx

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs: by default the input mask passes through when the layer
        supports masking, and is dropped otherwise."""
        return previous_mask if self.supports_masking else None

    # ---- config --------------------------------------------------------------------------------

    def get_config(self):
        """The constructor arguments that recreate this layer (`from_config(get_config())`).

        The base returns `name`, `trainable` and `dtype`, plus — for layers that do not override
        it — the arguments the constructor received, when they are plain values.
        """
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:  # emitted here, as Keras does
            from layerkit import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if not _is_default(self, "get_config"):
            return config
        args, kwargs = self.__dict__.get("_auto_config", ((), {}))
        sig = _signature(type(self), "__init__").parameters
        params = [p for p in sig.values() if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        # every constructor argument, defaults included (as Keras's auto-config does)
        extra = {p.name: p.default for p in sig.values() if p.name != "self" and p.default is not inspect.Parameter.empty
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in config}
        extra.update(zip([p.name for p in params], args))
        extra.update(kwargs)
        for k, v in extra.items():
            if not _is_plain(v):
                raise NotImplementedError(
                    f"Layer {type(self).__name__} has a constructor argument {k!r} that is not a plain value "
                    f"({type(v).__name__}), so its config cannot be captured automatically: implement get_config() "
                    "returning every constructor argument, and from_config() if they need deserializing.")
        config.update(extra)
        return config

    @classmethod
    def from_config(cls, config):
        params = inspect.signature(cls.__init__).parameters
        config = dict(config)
        trainable = config.get("trainable", True)
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            # a constructor without **kwargs: the base keys it does not take are restored here
            for key in ("name", "trainable", "dtype"):
                if key not in params:
                    config.pop(key, None)
        try:
            layer = cls(**config)
            if not trainable:
                layer.trainable = False
            return layer
        except TypeError as e:
            missing = _missing_arguments(cls, config)
            if missing:
                raise TypeError(f"{cls.__name__}.from_config: the config lacks the constructor argument(s) "
                                f"{missing}; make get_config() return them (config keys: {sorted(config)}).") from e
            raise

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# ---- helpers ---------------------------------------------------------------------------------


def symbolic_inputs(shape, dtype):
    """Symbolic tensors for a shape, a list of shapes, or a dict of shapes."""
    if isinstance(shape, dict):
        return {k: symbolic_inputs(v, dtype) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [symbolic_inputs(s, dtype) for s in shape]
    return SymbolicTensor(tuple(shape), dtype)


def _to_tensor(x):
    if isinstance(x, (Tensor, SymbolicTensor)) or x is None:
        return x
    if isinstance(x, (np.ndarray, np.generic, float, int)) and not isinstance(x, bool):
        return convert_to_tensor(x)
    return x


@functools.lru_cache(maxsize=None)
def _signature(cls, method="call"):
    return inspect.signature(getattr(cls, method))


def _is_default(layer, method):
    """True when `layer`'s class does not override Layer's `method`."""
    return getattr(type(layer), method) is getattr(Layer, method, None)


def _is_plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_plain(x) for k, x in v.items())
    return False


def _missing_arguments(cls, config):
    sig = inspect.signature(cls.__init__)
    return [n for n, p in sig.parameters.items()
            if n != "self" and p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in config]


__all__ = ["Layer", "InputSpec"]
