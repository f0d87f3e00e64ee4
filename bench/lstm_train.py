"""W6: LSTM training step: Embedding(10000, 128) -> LSTM(128) -> Dense(1, sigmoid), sequences of
80 tokens, batch 64, binary cross-entropy, Adam(1e-3); steps/s for layerkit (lk.function around
the step) and PyTorch eager in the same run."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import adam, emit, median_time, set_threads, torch_or_none
import layerkit as lk
from layerkit import layers, ops

set_threads()
torch = torch_or_none()
BATCH, STEPS, VOCAB, UNITS, LR = 64, 80, 10_000, 128, 1e-3
rng = np.random.default_rng(0)
x_np = rng.integers(1, VOCAB, (BATCH, STEPS)).astype("int32")
y_np = rng.integers(0, 2, (BATCH, 1)).astype("float32")


def layerkit_step(compiled):
    model = lk.Sequential([layers.Input(shape=(STEPS,), dtype="int32"), layers.Embedding(VOCAB, UNITS),
                           layers.LSTM(UNITS), layers.Dense(1, activation="sigmoid")])
    params = model.trainable_weights
    update = adam(params, LR)
    x, y = lk.convert_to_tensor(x_np), lk.convert_to_tensor(y_np)

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.binary_crossentropy(y, model(x)))
        update(tape.gradient(loss, params))
        return loss
    fn = lk.function(step) if compiled else step
    return lambda: fn(x, y)


def torch_step():
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.out = nn.Embedding(VOCAB, UNITS), nn.LSTM(UNITS, UNITS, batch_first=True), \
                nn.Linear(UNITS, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(self.emb(x))
            return torch.sigmoid(self.out(h[-1]))
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
    x, y = torch.from_numpy(x_np.astype("int64")), torch.from_numpy(y_np)
    loss_fn = nn.BCELoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


workload = "W6 LSTM train step"
t_graph = median_time(layerkit_step(True), warmup=2, repeats=5, min_window=0.2)
rg = {}
if torch is not None:
    tt = median_time(torch_step(), warmup=2, repeats=5, min_window=0.2)
    emit(workload, "pytorch-eager", "steps/s", 1 / tt)
    rg["pytorch-eager"] = round(tt / t_graph, 3)
emit(workload, "layerkit-function", "steps/s", 1 / t_graph, ratio_vs=rg)
