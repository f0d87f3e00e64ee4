"""W6: LSTM training step: Embedding(10000, 128) -> LSTM(128) -> Dense(1, sigmoid), sequences of
80 tokens, batch 64, binary cross-entropy, Adam(1e-3); steps/s for layerkit (lk.function around
the step) and PyTorch eager in the same run.

A second figure, beside W6: the same model on padded sequences (lengths 20-80, padded with 0 to
80), as a Keras user writes it, with Embedding(mask_zero=True); PyTorch packs the sequences
(pack_padded_sequence), its way of skipping padding. layerkit's masked LSTM runs the fused kernel;
the step loop (use_cudnn=False, the only masked path before) is measured too."""
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
lengths = rng.integers(20, STEPS + 1, BATCH)
padded_np = np.where(np.arange(STEPS) < lengths[:, None], x_np, 0).astype("int32")


def layerkit_step(compiled, padded=False, use_cudnn="auto"):
    model = lk.Sequential([layers.Input(shape=(STEPS,), dtype="int32"), layers.Embedding(VOCAB, UNITS,
                                                                                         mask_zero=padded),
                           layers.LSTM(UNITS, use_cudnn=use_cudnn), layers.Dense(1, activation="sigmoid")])
    params = model.trainable_weights
    update = adam(params, LR)
    x, y = lk.convert_to_tensor(padded_np if padded else x_np), lk.convert_to_tensor(y_np)

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.binary_crossentropy(y, model(x)))
        update(tape.gradient(loss, params))
        return loss
    fn = lk.function(step) if compiled else step
    return lambda: fn(x, y)


def torch_step(padded=False):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.out = nn.Embedding(VOCAB, UNITS), nn.LSTM(UNITS, UNITS, batch_first=True), \
                nn.Linear(UNITS, 1)

        def forward(self, x):
            e = self.emb(x)
            if padded:
                e = nn.utils.rnn.pack_padded_sequence(e, torch.from_numpy(lengths), batch_first=True,
                                                      enforce_sorted=False)
            _, (h, _) = self.lstm(e)
            return torch.sigmoid(self.out(h[-1]))
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=1e-7)
    x, y = torch.from_numpy((padded_np if padded else x_np).astype("int64")), torch.from_numpy(y_np)
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

workload = "W6 padded, mask_zero (beside W6)"
t_masked = median_time(layerkit_step(True, padded=True), warmup=2, repeats=5, min_window=0.2)
t_loop = median_time(layerkit_step(True, padded=True, use_cudnn=False), warmup=1, repeats=3, min_window=0.2)
rm = {"layerkit-step-loop": round(t_loop / t_masked, 3)}
if torch is not None:
    tp = median_time(torch_step(padded=True), warmup=2, repeats=5, min_window=0.2)
    emit(workload, "pytorch-eager-packed", "steps/s", 1 / tp)
    rm["pytorch-eager-packed"] = round(tp / t_masked, 3)
emit(workload, "layerkit-function-step-loop", "steps/s", 1 / t_loop)
emit(workload, "layerkit-function", "steps/s", 1 / t_masked, ratio_vs=rm)
