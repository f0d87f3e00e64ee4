"""Recurrent layers: the cells (one time step), RNN (a cell over time), the SimpleRNN, LSTM and
GRU layers, and the Bidirectional wrapper."""
from layerkit.layers.rnn.bidirectional import Bidirectional
from layerkit.layers.rnn.gru import GRU
from layerkit.layers.rnn.gru_cell import GRUCell
from layerkit.layers.rnn.lstm import LSTM
from layerkit.layers.rnn.lstm_cell import LSTMCell
from layerkit.layers.rnn.rnn import RNN
from layerkit.layers.rnn.simple_rnn import SimpleRNN
from layerkit.layers.rnn.simple_rnn_cell import SimpleRNNCell

__all__ = ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell"]
