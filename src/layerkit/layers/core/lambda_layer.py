"""Lambda: wraps a function of tensors as a layer (configs name the function; code is never stored)."""
import inspect
import types

from layerkit.layers.layer import Layer
from layerkit.ops import SymbolicTensor
from layerkit.utils import tree


def _named_function_config(who, arg, fn):
    """The Keras serialization dict of a named function: only its *name* is stored."""
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)) and fn.__name__ != "<lambda>":
        return {"module": "builtins", "class_name": "function", "config": fn.__name__, "registered_name": "function"}
    what = "a lambda" if getattr(fn, "__name__", None) == "<lambda>" else f"{type(fn).__name__} object"
    raise ValueError(
        f"{who}: cannot serialize `{arg}`, {what}. layerkit never stores code in a config (Keras pickles a lambda's "
        "bytecode, which runs arbitrary code when loaded); define it as a named function (`def f(x): ...`) and pass "
        "`custom_objects={'f': f}` when loading.")


def _resolve_function(who, arg, config, custom_objects):
    """A function from its stored name: `custom_objects` first, then layerkit's activations and
    ops. Nothing is imported and no code is deserialized."""
    if callable(config):
        return config
    if isinstance(config, dict):
        if config.get("class_name") == "__lambda__":
            raise ValueError(
                f"{who}: the config stores `{arg}` as the bytecode of a Python lambda (a Keras file). layerkit never "
                "deserializes code, which could run anything: rewrite the lambda as a named function `f` and load "
                "with `custom_objects={'f': f}`, or rebuild the layer in code.")
        name = config.get("config")
    else:
        name = config
    if not isinstance(name, str):
        raise ValueError(f"{who}: cannot interpret the stored `{arg}` {config!r}: expected a function name or a "
                         "Keras function dict {'class_name': 'function', 'config': name}.")
    from layerkit import activations, ops

    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in activations.ALL_OBJECTS_DICT:
        return activations.ALL_OBJECTS_DICT[name]
    fn = getattr(ops, name, None) if not name.startswith("_") else None
    if isinstance(fn, types.FunctionType):
        return fn
    raise ValueError(f"{who}: unknown function {name!r} for `{arg}`. Pass it when loading: "
                     f"`custom_objects={{{name!r}: {name}}}` (only layerkit's activations and ops resolve by name).")


class Lambda(Layer):
    """Wraps an arbitrary function of tensors as a `Layer`.

    For quick, stateless transformations in Sequential or Functional models (`Lambda(lambda x:
    x ** 2)`). Anything with weights or that must be saved and reloaded belongs in a subclassed
    `Layer`. The function must use `layerkit.ops`, so it runs on symbolic tensors as well.

    Safer than Keras: `get_config()` stores only the *name* of a plain function (in Keras's
    `{"class_name": "function", "config": name}` form) and refuses lambdas and other callables
    with a clear error instead of pickling bytecode; `from_config` resolves names from
    `custom_objects`, then layerkit's activations and ops, and refuses configs that carry code
    (Keras's `"__lambda__"`). Code is never serialized, imported or executed from a config.

    Args:
        function: the function; its first argument receives the inputs. If it accepts `mask`
            or `training`, those are passed too.
        output_shape: the output shape without the batch axis (a tuple, or a function of the
            input shape), used by `compute_output_shape`; None: inferred by running `function`
            on symbolic tensors.
        mask: the output mask: a tensor/None, or a function `mask(inputs, previous_mask)`.
        arguments: a dict of extra keyword arguments for `function` (plain values).

    Call arguments:
        inputs: whatever `function` takes first.
        mask, training: passed to `function` when it accepts them.

    Input shape and output shape: as `function` makes them.

    Example:
    >>> import layerkit as lk
    >>> def square(x):
    ...     return x * x
    >>> layer = lk.layers.Lambda(square)
    >>> layer(lk.ops.convert_to_tensor([[1.0, 2.0]]))
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[1., 4.]]>
    >>> layer.get_config()["function"]["config"]
    'square'
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda '{self.name}': `function` must be callable, received {function!r}.")
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"Lambda '{self.name}': `arguments` must be a dict of keyword arguments, received "
                             f"{arguments!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        if output_shape is not None and not callable(output_shape):
            output_shape = tuple(output_shape)
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):  # some builtins have no signature
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            try:
                spec = self.call(_symbolic(input_shape, self.dtype))
            except Exception as e:
                raise NotImplementedError(f"Lambda '{self.name}': could not infer the output shape by running the "
                                          f"function on symbolic inputs ({e}); pass `output_shape`.") from e
            return tree.map_structure(lambda t: t.shape, spec)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = tree.flatten(input_shape)[0] if not _is_shape(input_shape) else input_shape[0]
        return (batch,) + self._output_shape

    def get_config(self):
        who = f"Lambda '{self.name}'"
        config = super().get_config()
        config["function"] = _named_function_config(who, "function", self.function)
        if self._output_shape is not None:
            config["output_shape"] = (_named_function_config(who, "output_shape", self._output_shape)
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            if not callable(self.mask) and not isinstance(self.mask, bool):
                raise ValueError(f"{who}: cannot serialize the constant `mask` {type(self.mask).__name__}; pass "
                                 "a named function `mask(inputs, previous_mask)` instead.")
            config["mask"] = _named_function_config(who, "mask", self.mask) if callable(self.mask) else self.mask
        if not _is_plain(self.arguments):
            raise ValueError(f"{who}: cannot serialize `arguments` {self.arguments!r}: only plain values (numbers, "
                             "strings, bools, None, and lists/dicts of them) can be stored in a config.")
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        who = f"Lambda '{config.get('name', 'lambda')}'"
        config["function"] = _resolve_function(who, "function", config["function"], custom_objects)
        shape = config.get("output_shape")
        if isinstance(shape, (dict, str)):
            config["output_shape"] = _resolve_function(who, "output_shape", shape, custom_objects)
        elif isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            config["output_shape"] = tuple(shape)
        if isinstance(config.get("mask"), (dict, str)):
            config["mask"] = _resolve_function(who, "mask", config["mask"], custom_objects)
        return cls(**config)


def _is_shape(s):
    return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)


def _symbolic(shape, dtype):
    if _is_shape(shape):
        return SymbolicTensor(tuple(shape), dtype)
    if isinstance(shape, dict):
        return {k: _symbolic(v, dtype) for k, v in shape.items()}
    return [_symbolic(s, dtype) for s in shape]


def _is_plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_plain(x) for k, x in v.items())
    return False
