"""Model: a Layer that groups layers, with summary() and layer lookup.

Three ways to make one, mixable: `Sequential([...])`, the Functional `Model(inputs, outputs)`,
and subclassing `Model` with layers made in `__init__` and a `call`.
"""
from layerkit.layers.layer import Layer


def _is_functional_call(args, kwargs):
    return len(args) >= 2 or ("inputs" in kwargs and "outputs" in kwargs) or (len(args) == 1 and "outputs" in kwargs)


class Model(Layer):
    """A group of layers; subclass it and define `call`, or call `Model(inputs, outputs)`.

    Example (subclassing):
    >>> import layerkit as lk
    >>> class TwoLayers(lk.Model):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.hidden = lk.layers.Dense(8, activation="relu")
    ...         self.out = lk.layers.Dense(2)
    ...     def call(self, x):
    ...         return self.out(self.hidden(x))
    >>> TwoLayers()(lk.ops.ones((3, 4))).shape
    (3, 2)
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from layerkit.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs:
            raise TypeError(f"{type(self).__name__}: a subclassed Model takes keyword arguments only (name, "
                            "trainable, dtype); Model(inputs, outputs) makes a Functional model.")
        super().__init__(**kwargs)

    @property
    def layers(self):
        return self._layers

    def get_layer(self, name=None, index=None):
        """A layer of the model by name or by index in `layers`."""
        if index is not None and name is not None:
            raise ValueError("get_layer: pass either `name` or `index`, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. The layers of model '{self.name}' are "
                         f"{[layer.name for layer in layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Prints a table of the layers (name and type, output shape, parameters, and the inbound
        layers for Functional models), then the parameter totals. `print_fn` receives the text."""
        from layerkit.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

