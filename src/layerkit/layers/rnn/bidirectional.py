"""Bidirectional: runs a recurrent layer forwards and a copy of it backwards, and merges the two."""
import copy

from layerkit import ops
from layerkit.layers.layer import Layer
from layerkit.layers.rnn._serialization import deserialize_layer, serialize_layer
from layerkit.ops import SymbolicTensor
from layerkit.utils import tree

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _clone(layer, **overrides):
    """A fresh layer of the same class from `layer`'s config (no weights, no state)."""
    config = layer.get_config()
    config.update(overrides)
    cell = getattr(layer, "cell", None)
    if "cell" in config and cell is not None:  # a generic RNN: its cell class may be a custom one
        return type(layer).from_config(config, custom_objects={type(cell).__name__: type(cell)})
    return type(layer).from_config(config)


def _removeprefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


def _specs(shapes, dtype):
    if isinstance(shapes, (list, tuple)) and all(d is None or isinstance(d, int) for d in shapes):
        return SymbolicTensor(tuple(shapes), dtype)
    return type(shapes)(_specs(s, dtype) for s in shapes)


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: one copy of `layer` reads the sequence forwards, another
    reads it backwards, and their outputs are merged.

    Use it when the whole sequence is available at once (tagging, classification), so every
    step sees both its past and its future. The forward copy is rebuilt from `layer`'s config
    (named `forward_<name>`), the backward one from the same config with `go_backwards` flipped
    (named `backward_<name>`) unless `backward_layer` is given. Their weights, forward first,
    are this layer's weights. With `return_sequences`, the backward outputs are put back in
    forward time order before merging, and masked steps output zeros in both directions.

    Args:
        layer: a recurrent layer instance (RNN, LSTM, GRU, SimpleRNN) or its serialized dict.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (return both outputs).
        weights: optional initial weights (forward's, then backward's), set when built.
        backward_layer: optional recurrent layer for the backward direction; it must have
            `go_backwards` opposite to `layer` and the same `return_sequences`,
            `return_state` and `stateful`.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: the forward states followed by the backward states.
        mask: boolean (batch, time), passed to both directions.
        training: passed to both directions.

    Input shape: (batch, time, features). Output shape: the wrapped layer's output, with the
    last axis doubled for "concat"; a list of two outputs for None; with `return_state`,
    followed by the forward states and then the backward states.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Bidirectional(lk.layers.LSTM(4, return_sequences=True))
    >>> layer(lk.ops.ones((2, 5, 3))).shape
    (2, 5, 8)
    >>> len(layer.weights)
    6
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        layer = deserialize_layer(layer, who="Bidirectional") if isinstance(layer, dict) else layer
        if isinstance(backward_layer, dict):
            backward_layer = deserialize_layer(backward_layer, who="Bidirectional")
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: `layer` must be a layer instance, received {layer!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: `backward_layer` must be a layer instance, received {backward_layer!r}.")
        for arg, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not hasattr(value, "go_backwards"):
                raise ValueError(f"Bidirectional: `{arg}` must be a recurrent layer (with `go_backwards`, "
                                 f"`return_sequences`, `return_state`), received {type(value).__name__}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: `merge_mode` must be one of 'sum', 'mul', 'ave', 'concat' or None, "
                             f"received {merge_mode!r}.")
        super().__init__(**kwargs)
        self.forward_layer = _clone(layer, name=f"forward_{_removeprefix(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _clone(layer, go_backwards=not layer.go_backwards,
                                    name=f"backward_{_removeprefix(layer.name, 'backward_')}")
        self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            # the two directions are merged step by step: masked steps must be zeros in both
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have different "
                             f"`go_backwards`, received {fwd.go_backwards} for both.")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers must have the same "
                                 f"`{attr}`, received {getattr(fwd, attr)} (forward) and {getattr(bwd, attr)} "
                                 "(backward).")

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(sequences_shape))
        if self._initial_weights:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if "training" in self.forward_layer._call_parameters():
            kwargs["training"] = training
        if "mask" in self.forward_layer._call_parameters():
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        # the wrapper computes in its own dtype, whatever its sublayers' (as Keras casts)
        y, y_rev = (t if t.dtype == self.dtype else ops.cast(t, self.dtype) for t in (y, y_rev))
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]  # back to forward time order
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        output_shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        state_shape = ()
        if self.return_state:
            output_shape, state_shape = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = tuple(output_shape[:-1]) + (output_shape[-1] * 2,)
        elif self.merge_mode is None:
            output_shape = (tuple(output_shape), tuple(output_shape))
        if self.return_state:
            if self.merge_mode is None:
                return output_shape + state_shape + state_shape
            return (tuple(output_shape),) + state_shape + state_shape
        return tuple(output_shape)

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None):
        return _specs(self.compute_output_shape(tuple(sequences.shape)), self.dtype)

    def compute_mask(self, inputs, mask):
        mask = tree.flatten(mask)[0] if tree.is_nested(mask) else mask
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else [mask]
        else:
            output_mask = [None, None] if self.merge_mode is None else [None]
        if self.return_state:
            n = len(getattr(self.forward_layer, "state_size", [])) * 2
            return output_mask + [None] * n
        return output_mask if self.merge_mode is None else output_mask[0]

    @property
    def states(self):
        return None  # stateful RNNs are not supported

    def reset_state(self):
        raise AttributeError(f"Bidirectional '{self.name}': the layer must be stateful to reset its state "
                             "(stateful RNNs are not supported).")

    reset_states = reset_state

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialize_layer(self.forward_layer)
        config["backward_layer"] = serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects, who=cls.__name__)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_layer(backward, custom_objects, who=cls.__name__)
        return cls(**config)
