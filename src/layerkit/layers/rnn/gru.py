"""GRU: the Gated Recurrent Unit layer (Cho et al. 2014), `RNN(GRUCell(...))`."""
from layerkit import ops
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.rnn.gru_cell import GRUCell
from layerkit.layers.rnn.rnn import RNN, cell_property, check_use_cudnn
from layerkit.layers.rnn._serialization import serialize_args
from layerkit.ops.recurrent import gru_sequence


class GRU(RNN):
    """Gated Recurrent Unit layer: a gated recurrence with a single state.

    Cheaper than LSTM (three gate blocks instead of four, no carry state) and often as good.
    The weights live in `layer.cell`: kernel (in, 3*units), recurrent_kernel (units, 3*units),
    bias (2, 3*units) with `reset_after=True` (the default: row 0 input bias, row 1 recurrent
    bias) or (3*units,); gate blocks in the order z, r, h (see `GRUCell`).

    Args:
        units: dimensionality of the output space.
        activation: activation of the candidate ("tanh"; None: linear).
        recurrent_activation: activation of the gates ("sigmoid").
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the weights
            ("glorot_uniform", "orthogonal", "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight regularizers.
        activity_regularizer: regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: weight constraints.
        dropout, recurrent_dropout: fractions of the input and state units to drop in training
            (one mask per sequence).
        seed: seed of the dropout masks.
        return_sequences, return_state, go_backwards, stateful, unroll: as in `RNN`.
        reset_after: apply the reset gate after the recurrent matrix product (True, Keras's and
            cuDNN's convention) or before it (False).
        use_cudnn: "auto" (the default) runs the whole recurrence as one native kernel, forward
            and backward, when the layer is the standard GRU (reset_after, tanh and sigmoid, no
            recurrent dropout in training), as Keras takes cuDNN on a GPU, with or without a mask
            (any mask; Keras's cuDNN path takes only right-padded ones). False always runs the
            step loop (e.g. to differentiate twice). True is refused: there is no cuDNN.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: `[h]` (batch, units) (zeros by default).
        mask: boolean (batch, time); masked steps keep the previous state and output.
        training: whether dropout applies.

    Input shape: (batch, time, features). Output shape: (batch, units) or, with
    `return_sequences`, (batch, time, units); with `return_state`, followed by the last state.

    Example:
    >>> import layerkit as lk
    >>> gru = lk.layers.GRU(4)
    >>> gru(lk.ops.ones((2, 5, 3))).shape
    (2, 4)
    >>> [w.shape for w in gru.weights]
    [(3, 12), (4, 12), (2, 12)]
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
            reset_after=reset_after, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="gru_cell", seed=seed, implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = check_use_cudnn(self, use_cudnn)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _fused_sequence(self, inputs, states, mask):
        cell, u = self.cell, self.cell.units
        if not cell.reset_after:  # the fused kernel applies the reset gate after the product
            return None
        recurrent_bias = cell.bias[1] if cell.bias is not None else ops.zeros((3 * u,), inputs.dtype)
        return gru_sequence(inputs, states[0], cell.recurrent_kernel, recurrent_bias, reverse=self.go_backwards,
                            mask=mask)

    units = cell_property("units")
    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")
    reset_after = cell_property("reset_after")

    def get_config(self):
        config = super().get_config()
        del config["cell"]  # the cell is rebuilt from the layer's own arguments
        config.update(serialize_args(self, (
            "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
            "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
            "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint",
            "bias_constraint", "dropout", "recurrent_dropout", "reset_after"
        )))
        config["seed"] = self.cell.seed
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
