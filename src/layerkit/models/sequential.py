"""Sequential: a plain stack of layers, each with one input and one output."""
from layerkit.layers.core.input_layer import Input, InputLayer
from layerkit.layers.layer import Layer
from layerkit.models.model import Model
from layerkit.ops import SymbolicTensor


class Sequential(Model):
    """A linear stack of layers.

    When the input shape is known — an `Input`/`InputLayer` first, or `input_shape=` on the first
    layer, or `build(input_shape)` — the model builds at once and every `add()` checks that the
    new layer accepts the previous layer's output, so a mismatch is reported where it is made.
    Otherwise it builds on the first data it sees.

    Example:
    >>> import layerkit as lk
    >>> model = lk.Sequential([lk.layers.Input(shape=(4,)), lk.layers.Dense(8, activation="relu")])
    >>> model.add(lk.layers.Dense(2))
    >>> model(lk.ops.ones((3, 4))).shape
    (3, 2)
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.__dict__["_stack"] = []
        self.__dict__["_functional"] = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Appends a layer (or an `Input` tensor, as the first element)."""
        if isinstance(layer, SymbolicTensor) and isinstance(getattr(layer, "_keras_history", (None,))[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer instance, received {layer!r} "
                            f"({type(layer).__name__}).")
        if isinstance(layer, InputLayer) and self._stack:
            raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the first layer.")
        for existing in self._stack:
            if existing.name == layer.name:
                raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                                 f"'{layer.name}' is already the name of a layer in this model. Give the layer "
                                 "its own name with `name=`.")
        self._stack.append(layer)
        if rebuild:
            try:
                self._maybe_rebuild()
            except Exception:
                self._stack.pop()  # the model stays as it was before the bad add
                self._maybe_rebuild()
                raise

    def pop(self, rebuild=True):
        """Removes and returns the last layer."""
        layers = self.layers
        if not layers:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def _layers(self):
        return list(self.__dict__.get("_stack", []))

    @property
    def layers(self):
        """The model's layers (a copy: change the model with add/pop), without the InputLayer."""
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    def _input_batch_shape(self):
        if not self._stack:
            return None
        first = self._stack[0]
        if isinstance(first, InputLayer):
            return first.batch_shape
        return getattr(first, "_batch_input_shape", None)

    def _maybe_rebuild(self):
        self.__dict__["_functional"] = None
        self.built = False
        self.__dict__["_locked"] = False
        shape = self._input_batch_shape()
        if shape is not None and self.layers:
            self.build(shape)

    def build(self, input_shape=None):
        """Builds the model for inputs of `input_shape` (batch axis included), checking each
        layer against its predecessor's output."""
        if input_shape is None:
            input_shape = self._input_batch_shape()
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': build() needs an input shape (no Input layer and no "
                             "input_shape given).")
        first = self._stack[0] if self._stack else None
        if isinstance(first, InputLayer):
            x = first.output
            if tuple(input_shape)[1:] != tuple(first.batch_shape)[1:]:
                raise ValueError(f"Sequential '{self.name}': build({tuple(input_shape)}) does not match the "
                                 f"model's Input of shape {first.batch_shape}.")
        else:
            # the batch axis stays open: the first batch's size must not fix the model's
            x = Input(batch_shape=(None,) + tuple(input_shape)[1:], dtype=self.__dict__.get("_data_dtype"))
        inputs = x
        for i, layer in enumerate(self.layers):
            try:
                x = layer(x)
            except (ValueError, TypeError) as e:
                previous = f"the output of layer {i - 1} ('{self.layers[i - 1].name}')" if i else "the model input"
                raise type(e)(f"Sequential '{self.name}': layer {i} ('{layer.name}', {type(layer).__name__}) cannot "
                              f"take {previous} of shape {x.shape}: {e}") from e
        from layerkit.models.functional import Functional

        self.__dict__["_functional"] = Functional(inputs, x, name=f"{self.name}_graph")

    def _maybe_build(self, args, kwargs):
        # built from the first data: the symbolic input takes the data's dtype (int ids for Embedding)
        self.__dict__["_data_dtype"] = getattr(args[0], "dtype", None)
        super()._maybe_build(args, kwargs)

    def call(self, inputs, training=None, mask=None):
        functional = self.__dict__.get("_functional")
        if functional is None:
            raise ValueError(f"Sequential '{self.name}' has no layers to call.")
        return functional.call(inputs, training=training, mask=mask)

    @property
    def input_shape(self):
        return self._functional.input_shape if self._functional is not None else None

    @property
    def output_shape(self):
        return self._functional.output_shape if self._functional is not None else None

    @property
    def inputs(self):
        return self._functional.inputs if self._functional is not None else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional is not None else None
