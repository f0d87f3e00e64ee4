"""SimpleRNN: the fully connected RNN over a sequence, `RNN(SimpleRNNCell(...))`."""
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.rnn.rnn import RNN, cell_property
from layerkit.layers.rnn.simple_rnn_cell import SimpleRNNCell
from layerkit.layers.rnn._serialization import serialize_args


class SimpleRNN(RNN):
    """Fully-connected RNN where the output is fed back as the next step's input state:
    `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    The simplest recurrent layer; prefer LSTM or GRU for long sequences, whose gates keep
    gradients from vanishing. The weights live in `layer.cell` (kernel, recurrent_kernel, bias).

    Args:
        units: dimensionality of the output space.
        activation: activation function or its name ("tanh"; None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the weights
            ("glorot_uniform", "orthogonal", "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight regularizers.
        activity_regularizer: regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: weight constraints.
        dropout, recurrent_dropout: fractions of the input and state units to drop in training
            (one mask per sequence).
        return_sequences, return_state, go_backwards, stateful, unroll: as in `RNN`.
        seed: seed of the dropout masks.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: `[h]` (batch, units) (zeros by default).
        mask: boolean (batch, time); masked steps keep the previous state and output.
        training: whether dropout applies.

    Input shape: (batch, time, features). Output shape: (batch, units) or, with
    `return_sequences`, (batch, time, units); with `return_state`, followed by the last state.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.SimpleRNN(4)
    >>> layer(lk.ops.ones((2, 5, 3))).shape
    (2, 4)
    >>> [w.shape for w in layer.weights]
    [(3, 4), (4, 4), (4,)]
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    units = cell_property("units")
    activation = cell_property("activation")
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

    def get_config(self):
        # Keras's SimpleRNN config has no `seed` (unlike LSTM and GRU); the keys follow Keras.
        config = super().get_config()
        del config["cell"]
        config.update(serialize_args(self, (
            "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"
        )))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
