"""RNN: runs a recurrent cell over the time axis of a sequence (the base of SimpleRNN, LSTM, GRU)."""
from layerkit import activations, ops
from layerkit.layers.input_spec import InputSpec, check_input_spec
from layerkit.layers.layer import Layer
from layerkit.layers.rnn._serialization import deserialize_layer, serialize_layer
from layerkit.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from layerkit.layers.rnn.loop import rnn_loop
from layerkit.ops import SymbolicTensor
from layerkit.ops.primitive import is_tracing
from layerkit.utils import tree


def _split_call_of(cell):
    """The built-in cells' split form `(projected inputs, step)`, when the cell's `call` is the
    one that goes with it (a subclass that overrides `call` gets the generic per-step path)."""
    cls = type(cell)
    for base in cls.__mro__:
        if "_split_call" in vars(base):
            return cell._split_call if vars(base).get("call") is cls.call else None
    return None


def cell_property(name):
    """A read-only attribute of a convenience layer that is its cell's (`LSTM.units`, ...)."""
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


def check_use_cudnn(layer, use_cudnn):
    """Keras's `use_cudnn` ("auto", True, False): layerkit has no cuDNN path, so True is refused."""
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `use_cudnn` must be one of 'auto', True, False, "
                         f"received {use_cudnn!r}.")
    if use_cudnn is True:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': use_cudnn=True was given, but layerkit has no cuDNN "
                         "implementation; pass use_cudnn='auto' (the default) or False.")
    return use_cudnn


class RNN(Layer):
    """Base class for recurrent layers: applies a cell to every time step of a sequence.

    A cell is a layer with `call(inputs_t, states, training=None) -> (output_t, new_states)`, a
    `state_size` (an int, or a list of ints, one per state) and optionally `output_size` and
    `get_initial_state(batch_size)`. The built-in cells (SimpleRNNCell, LSTMCell, GRUCell)
    project every time step's input in one matrix product before the loop, so only the
    recurrent product runs per step.

    Args:
        cell: an RNN cell instance (or its serialized dict).
        return_sequences: return the output of every step (batch, time, units) rather than
            only the last one (batch, units).
        return_state: also return the final states: `(output, *states)`.
        go_backwards: process the sequence from its last step to its first (and return the
            output sequence in that reversed order).
        stateful: not supported (raises ValueError).
        unroll: inside a traced function (`lk.function`), one copy of the step per time step
            in the graph, faster for short sequences and heavier on memory and trace time (as
            Keras says); False (the default) traces the step once into a `scan` loop node that
            runs natively (a user cell drawing dropout masks inside its step unrolls in
            training). Eager execution always runs a Python loop. A symbolic input with an
            unknown number of steps is refused when True, as in Keras.
        zero_output_for_mask: output zeros (rather than the previous output) at masked steps.

    Call arguments:
        sequences: (batch, time, features) (or more feature axes, for cells that take them).
        initial_state: a list of tensors, one per state (zeros by default).
        mask: boolean (batch, time): False steps keep the previous states and output. Taken from
            the input's mask (e.g. Embedding(mask_zero=True), Masking) when not given.
        training: whether the cell's dropout applies.

    Input shape: (batch, time, features). Output shape: (batch, units), or (batch, time, units)
    with `return_sequences`; with `return_state`, followed by each state (batch, state_size).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.RNN(lk.layers.LSTMCell(4), return_sequences=True, return_state=True)
    >>> seq, h, c = layer(lk.ops.ones((2, 5, 3)))
    >>> seq.shape, h.shape, c.shape
    ((2, 5, 4), (2, 4), (2, 4))
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: a list of cells (stacked cells) is not supported; stack "
                             "RNN layers with return_sequences=True instead.")
        cell = deserialize_layer(cell, who=type(self).__name__) if isinstance(cell, dict) else cell
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"{type(self).__name__}: `cell` should have a `call` method, received cell={cell!r}.")
        state_size = getattr(cell, "state_size", None)
        if isinstance(state_size, bool) or not isinstance(state_size, (int, list, tuple)):
            raise ValueError(f"{type(self).__name__}: the cell {cell!r} needs a `state_size` attribute (an int, or a "
                             f"list of ints, one per state), received {state_size!r}.")
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(f"{type(self).__name__} '{self.name}': stateful=True is not supported by layerkit; "
                             "pass the last states of one batch as `initial_state` of the next instead.")
        self.zero_output_for_mask = zero_output_for_mask
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.supports_masking = True
        self.input_spec = None
        self.states = None
        self.single_state = isinstance(state_size, int)
        self._state_size = [state_size] if self.single_state else list(state_size)

    @property
    def _state_dtype(self):
        return getattr(self.cell, "dtype", None) or self.dtype

    @property
    def state_size(self):
        return list(self._state_size)

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if self.input_spec is not None:
            check_input_spec(self, SymbolicTensor(sequences_shape, self.dtype))
        if len(sequences_shape) < 3:
            raise ValueError(f"{self._who()} expects an input of rank >= 3 (batch, time, features), but received "
                             f"an input of shape {sequences_shape}.")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0],) + sequences_shape[2:])
        spec = self.input_spec if isinstance(self.input_spec, InputSpec) else InputSpec(min_ndim=3)
        self.input_spec = InputSpec(ndim=spec.ndim, min_ndim=spec.min_ndim, axes={-1: sequences_shape[-1]})

    def get_initial_state(self, batch_size):
        """The default initial states: the cell's `get_initial_state`, else zeros."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            states = fn(batch_size=batch_size)
            return list(states) if tree.is_nested(states) else [states]
        return [ops.zeros((batch_size, d), dtype=self._state_dtype) for d in self._state_size]

    def _zero_states(self, sequences):
        if sequences.shape[0] is not None:
            return self.get_initial_state(sequences.shape[0])
        # traced with an unknown batch size: zeros broadcast from a (batch, 1) column of the input
        column = sequences[:, 0]
        while len(column.shape) > 1:
            column = column[:, 0]
        column = ops.zeros_like(ops.expand_dims(ops.cast(column, self._state_dtype), -1))
        return [column + ops.zeros((1, d), dtype=self._state_dtype) for d in self._state_size]

    def _check_initial_state(self, initial_state, batch):
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self._state_size):
            raise ValueError(f"{self._who()} expects {len(self._state_size)} initial state tensor(s) (state_size "
                             f"{self._state_size}), but received {len(states)}.")
        out = []
        for i, (s, size) in enumerate(zip(states, self._state_size)):
            s = ops.convert_to_tensor(s)
            if len(s.shape) != 2 or s.shape[1] != size or None not in (batch, s.shape[0]) and s.shape[0] != batch:
                raise ValueError(f"{self._who()}: initial state {i} must have shape ({batch}, {size}) (batch, "
                                 f"state_size), but received shape {tuple(s.shape)}.")
            out.append(s if s.dtype == self._state_dtype else ops.cast(s, self._state_dtype))
        return out

    def _check_mask(self, mask, sequences):
        mask = tree.flatten(mask)[0] if tree.is_nested(mask) else mask
        if mask is None:
            return None
        mask = ops.convert_to_tensor(mask)
        if len(mask.shape) != 2 or any(a is not None and b is not None and a != b
                                       for a, b in zip(mask.shape, sequences.shape[:2])):
            raise ValueError(f"{self._who()}: the mask must have shape (batch, time) = {tuple(sequences.shape[:2])}, "
                             f"but received shape {tuple(mask.shape)}.")
        return mask if mask.dtype == "bool" else ops.cast(mask, "bool")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if any(isinstance(x, SymbolicTensor) for x in tree.flatten((sequences, initial_state))):
            if not is_tracing():  # building a Functional model: shapes only
                return self.compute_output_spec(sequences, initial_state)
            if sequences.shape[1] is None:
                raise ValueError(f"{self._who()}: graph mode (lk.function) cannot trace an RNN over an unknown number "
                                 f"of time steps yet (input shape {tuple(sequences.shape)}); trace with a fixed "
                                 "sequence length.")
        if sequences.shape[1] == 0:  # (a step loop would have no last output to return)
            raise ValueError(f"{self._who()}: expected at least one time step, received input shape "
                             f"{tuple(sequences.shape)}.")
        batch = sequences.shape[0]
        mask = self._check_mask(mask, sequences)
        if initial_state is None:
            states = self._zero_states(sequences)
        else:
            states = self._check_initial_state(initial_state, batch)
        split = _split_call_of(self.cell)
        try:
            if split is not None:  # a built-in cell: all the input projections in one product, then the loop
                inputs, step = split(sequences, training=bool(training))
            else:
                inputs, step = sequences, self._generic_step(training)
            fused = self._fused_loop(inputs, states, mask, training) if split is not None else None
            if fused is not None:
                last, outputs, states = fused
            else:
                last, outputs, states = rnn_loop(step, inputs, states, mask=mask, go_backwards=self.go_backwards,
                                                 zero_output_for_mask=self.zero_output_for_mask,
                                                 return_all_outputs=self.return_sequences,
                                                 unroll=self._unrolls(training, split is not None),
                                                 output_size=self._output_size())
        finally:
            if isinstance(self.cell, DropoutRNNCell):  # the next sequence draws new masks
                self.cell.reset_dropout_mask()
                self.cell.reset_recurrent_dropout_mask()
        output = outputs if self.return_sequences else last
        return (output, *states) if self.return_state else output

    def _fused_loop(self, inputs, states, mask, training):
        """`(last, outputs, states)` as `rnn_loop` returns them, computed by the layer's fused
        kernel (`_fused_sequence`) over the projected `inputs`, or None to run the step loop. The
        kernel serves the standard cell: tanh and sigmoid activations and no recurrent dropout in
        training — the conditions under which Keras takes cuDNN on a GPU — with or without a
        mask (Keras's cuDNN path takes only right-padded masks; this one takes any);
        `use_cudnn=False` keeps the step loop."""
        cell = self.cell
        if (getattr(self, "use_cudnn", False) is False
                or (training and getattr(cell, "recurrent_dropout", 0))
                or getattr(cell, "activation", None) is not activations.get("tanh")
                or getattr(cell, "recurrent_activation", None) is not activations.get("sigmoid")
                or inputs.dtype not in ("float32", "float64")):
            return None
        out = self._fused_sequence(inputs, states, mask)
        if out is None:
            return None
        u = cell.units  # out: (time, batch, ...) whose first column blocks are the states
        new_states = [out[-1, :, k * u:(k + 1) * u] for k in range(len(states))]
        last = new_states[0]
        sequence = ops.transpose(out[:, :, :u], (1, 0, 2)) if self.return_sequences else None
        if mask is not None and self.zero_output_for_mask:  # masked steps output zeros, states carry on
            steps = mask[:, ::-1] if self.go_backwards else mask  # processing order
            last = ops.where(ops.expand_dims(steps[:, -1], -1), last, ops.zeros_like(last))
            if sequence is not None:
                sequence = ops.where(ops.expand_dims(steps, -1), sequence, ops.zeros_like(sequence))
        return last, sequence, new_states

    def _fused_sequence(self, inputs, states, mask):
        """The fused kernel's time-major output for these projected inputs, initial states and
        mask (None or bool (batch, time)), its first column blocks the states after each step;
        None when the layer has none."""
        return None

    def _unrolls(self, training, split):
        """Whether a traced call unrolls the step loop: asked for (`unroll=True`), or a cell
        without a split call draws its dropout masks inside its step in training (cached per
        sequence on the cell, they must be made by the enclosing trace, not by a loop node's
        step traced apart from it). The built-in cells draw them before the loop."""
        cell = self.cell
        return bool(self.unroll) or bool(not split and training and (getattr(cell, "dropout", 0) or
                                                                      getattr(cell, "recurrent_dropout", 0)))

    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        size = self._state_size[0] if size is None else size
        return size if isinstance(size, int) else None

    def _generic_step(self, training):
        cell = self.cell
        kwargs = {}
        if isinstance(cell, Layer) and "training" in cell._call_parameters():
            kwargs["training"] = training
        fn = cell if isinstance(cell, Layer) else cell.call

        def step(x_t, states):
            return fn(x_t, list(states), **kwargs)
        return step

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        output_size = getattr(self.cell, "output_size", None)
        output_size = self._state_size[0] if output_size is None else output_size
        output_shape = (batch, length, output_size) if self.return_sequences else (batch, output_size)
        if self.return_state:
            return (output_shape,) + tuple((batch, s) for s in self._state_size)
        return output_shape

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=False):
        """Symbolic outputs from shapes alone (no loop), so the time axis may be unknown."""
        if self.unroll and sequences.shape[1] is None:
            raise ValueError(f"{self._who()}: cannot unroll an RNN whose number of time steps is unknown (input "
                             f"shape {tuple(sequences.shape)}); pass a fixed `shape` to Input() or unroll=False.")
        shapes = self.compute_output_shape(tuple(sequences.shape))
        if self.return_state:
            return tuple(SymbolicTensor(s, self.dtype) for s in shapes)
        return SymbolicTensor(shapes, self.dtype)

    def compute_mask(self, inputs, mask):
        mask = tree.flatten(mask)[0] if tree.is_nested(mask) else mask
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_size)
        return output_mask

    def reset_state(self):
        """Stateful RNNs are not supported, so there is no state to reset (kept for the API)."""

    reset_states = reset_state

    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        })
        config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects, who=cls.__name__)
        return cls(cell, **config)
