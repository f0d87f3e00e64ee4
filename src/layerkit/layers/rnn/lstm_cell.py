"""LSTMCell: one step of the Long Short-Term Memory recurrence (gates i, f, c, o)."""
import numpy as np

from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.layer import Layer
from layerkit.layers.rnn.dropout_rnn_cell import DropoutRNNCell, check_cell_args, column_blocks, project_gates
from layerkit.random import SeedGenerator


class LSTMCell(Layer, DropoutRNNCell):
    """Cell class for the LSTM layer: processes one time step of a sequence.

    With `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias` split into the blocks
    i, f, c, o (that order, along the last axis of every weight):
    `c_t = σ(z_f) * c_{t-1} + σ(z_i) * tanh(z_c)`, `h_t = σ(z_o) * tanh(c_t)`, where σ is
    `recurrent_activation` and tanh is `activation`. The states are `[h, c]`; the output is h.

    Args:
        units: dimensionality of the output space (and of each state).
        activation: activation of the cell candidate and the output ("tanh"; None: linear).
        recurrent_activation: activation of the gates ("sigmoid").
        use_bias: whether to add a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the kernel
            (in, 4*units), the recurrent kernel (units, 4*units) ("orthogonal") and the bias (4*units,).
        unit_forget_bias: initialize the forget gate's bias block to ones (the other blocks use
            `bias_initializer`). Only the initial value is affected.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: weight constraints.
        dropout: fraction of the input units to drop (training only; one mask per sequence).
        recurrent_dropout: fraction of the state units to drop; with it each gate gets its own
            masks (Keras's implementation 1).
        seed: seed of the dropout masks.

    Call arguments:
        inputs: (batch, features), one time step.
        states: `[h, c]`, each (batch, units).
        training: whether dropout applies.

    Returns `(h, [h, c])`.

    Example:
    >>> import layerkit as lk
    >>> cell = lk.layers.LSTMCell(4)
    >>> h, (h2, c) = cell(lk.ops.ones((2, 3)), [lk.ops.zeros((2, 4)), lk.ops.zeros((2, 4))])
    >>> h.shape, c.shape, [w.shape for w in cell.weights]
    ((2, 4), (2, 4), [(3, 16), (4, 16), (16,)])
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        check_cell_args(self, units, dropout, recurrent_dropout)
        self.implementation = 1 if recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4  # one mask per gate
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
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
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"LSTMCell '{self.name}': the feature axis of the input must be known to create the "
                             f"kernel, received an input of shape {tuple(input_shape)}.")
        u = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * u), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                def init(shape, dtype=None, base=self.bias_initializer):  # i, f (ones), c and o
                    parts = [base((u,), dtype), np.ones((u,), dtype), base((2 * u,), dtype)]
                    return np.concatenate([np.asarray(p) for p in parts])
            self.bias = self.add_weight(shape=(4 * u,), name="bias", initializer=init,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _split_call(self, inputs, training=False):
        """The cell as (input projection, recurrent step): `inputs` (batch, [time,] features)
        projected by the kernel in one product, and a pure `step(projected_t, [h, c]) ->
        (h, [h, c])` that adds the recurrent part. RNN runs the step over time."""
        batch, u = inputs.shape[0], self.units
        dp = self.get_dropout_mask((batch, inputs.shape[-1])) if training else None
        rdp = self.get_recurrent_dropout_mask((batch, u)) if training else None
        x = project_gates(inputs, self.kernel, dp, 4)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        act, rec_act = self.activation, self.recurrent_activation
        if rdp is None:
            recurrent_kernel = self.recurrent_kernel

            def recurrent(h):
                return ops.matmul(h, recurrent_kernel)
        else:
            blocks = column_blocks(self.recurrent_kernel, 4)
            masks = rdp if isinstance(rdp, list) else [rdp] * 4

            def recurrent(h):
                return ops.concatenate([ops.matmul(h * m, k) for m, k in zip(masks, blocks)], axis=-1)

        def step(x_t, states):
            h_tm1, c_tm1 = states[0], states[1]
            z = x_t + recurrent(h_tm1)
            i = rec_act(z[:, :u])
            f = rec_act(z[:, u:2 * u])
            c = f * c_tm1 + i * act(z[:, 2 * u:3 * u])
            o = rec_act(z[:, 3 * u:])
            h = o * act(c)
            return h, [h, c]
        return x, step

    def call(self, inputs, states, training=False):
        x, step = self._split_call(inputs, training)
        return step(x, list(states))

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, d), dtype=self.dtype) for d in self.state_size]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "unit_forget_bias": self.unit_forget_bias,
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
