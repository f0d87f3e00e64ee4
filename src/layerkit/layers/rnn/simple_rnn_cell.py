"""SimpleRNNCell: one step of the fully connected RNN, `h_t = activation(x_t @ W + h_{t-1} @ U + b)`."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.layer import Layer
from layerkit.layers.rnn.dropout_rnn_cell import DropoutRNNCell, check_cell_args, project_gates
from layerkit.random import SeedGenerator


class SimpleRNNCell(Layer, DropoutRNNCell):
    """Cell class for SimpleRNN: processes one time step of a sequence.

    Use it inside `RNN(SimpleRNNCell(units))` (which `SimpleRNN` is) or call it step by step;
    the output is also the new state.

    Args:
        units: dimensionality of the output space (and of the state).
        activation: activation function or its name ("tanh"; None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the input
            kernel (in, units), the recurrent kernel (units, units) ("orthogonal") and the bias.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: weight constraints.
        dropout: fraction of the input units to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the state units to drop in the recurrent product.
        seed: seed of the dropout masks.

    Call arguments:
        inputs: (batch, features), one time step.
        states: the previous state: a tensor (batch, units) or a list holding it.
        training: whether dropout applies.

    Returns `(output, new_states)`: output (batch, units), new_states in the form `states` had.

    Example:
    >>> import layerkit as lk
    >>> cell = lk.layers.SimpleRNNCell(4)
    >>> out, states = cell(lk.ops.ones((2, 3)), [lk.ops.zeros((2, 4))])
    >>> out.shape, [s.shape for s in states]
    ((2, 4), [(2, 4)])
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_cell_args(self, units, dropout, recurrent_dropout)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"SimpleRNNCell '{self.name}': the feature axis of the input must be known to create "
                             f"the kernel, received an input of shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), name="bias", initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _split_call(self, inputs, training=False):
        """The cell as (input projection, recurrent step): `inputs` (batch, [time,] features)
        projected by the kernel in one product, and a pure `step(projected_t, states) ->
        (output, new_states)` that adds the recurrent part. RNN runs the step over time."""
        batch = inputs.shape[0]
        dp = self.get_dropout_mask((batch, inputs.shape[-1])) if training else None
        rdp = self.get_recurrent_dropout_mask((batch, self.units)) if training else None
        x = project_gates(inputs, self.kernel, dp, 1)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        recurrent_kernel, activation = self.recurrent_kernel, self.activation

        def step(x_t, states):
            h = states[0] if rdp is None else states[0] * rdp
            output = activation(x_t + ops.matmul(h, recurrent_kernel))
            return output, [output]
        return x, step

    def call(self, inputs, states, training=False):
        x, step = self._split_call(inputs, training)
        output, new_states = step(x, states if isinstance(states, (list, tuple)) else [states])
        return output, (new_states if isinstance(states, (list, tuple)) else new_states[0])

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.state_size), dtype=self.dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        })
        return config
