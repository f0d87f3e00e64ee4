"""W2: MLP training step, Dense 784->H->H->10, relu, softmax cross-entropy from logits, Adam(1e-3),
batch 128, H in {64, 256, 1024}: steps/s for layerkit eager (tape), layerkit compiled
(lk.function around the whole step) and PyTorch eager, measured in the same run."""
import sys

import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import adam, emit, median_time, set_threads, torch_or_none

set_threads()
torch = torch_or_none()
BATCH, LR, B1, B2, EPS = 128, 1e-3, 0.9, 0.999, 1e-7
sizes = [int(a) for a in sys.argv[1:]] or [64, 256, 1024]


def layerkit_step(hidden, compiled):
    import layerkit as lk  # here, not above: W7 (memory.py) measures PyTorch's step without layerkit loaded
    from layerkit import ops

    rng = np.random.default_rng(0)
    x = lk.convert_to_tensor(rng.standard_normal((BATCH, 784), dtype=np.float32))
    y = lk.convert_to_tensor(rng.integers(0, 10, BATCH).astype("int32"))
    model = lk.Sequential([lk.layers.Input(shape=(784,)), lk.layers.Dense(hidden, activation="relu"),
                           lk.layers.Dense(hidden, activation="relu"), lk.layers.Dense(10)])
    params = model.trainable_weights
    update = adam(params, LR, B1, B2, EPS)

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.sparse_softmax_cross_entropy(y, model(x)))
        update(tape.gradient(loss, params))
        return loss

    fn = lk.function(step) if compiled else step
    return lambda: fn(x, y)


def torch_step(hidden):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=EPS)
    x = torch.randn(BATCH, 784)
    y = torch.randint(0, 10, (BATCH,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


for h in sizes:
    workload = f"W2 MLP train step H={h}"
    t_eager = median_time(layerkit_step(h, False), repeats=9)
    t_graph = median_time(layerkit_step(h, True), repeats=9)
    ratios_e, ratios_g = {}, {}
    if torch is not None:
        t_torch = median_time(torch_step(h), repeats=9)
        emit(workload, "pytorch-eager", "steps/s", 1 / t_torch)
        ratios_e["pytorch-eager"], ratios_g["pytorch-eager"] = round(t_torch / t_eager, 3), round(t_torch / t_graph, 3)
    emit(workload, "layerkit-eager", "steps/s", 1 / t_eager, ratio_vs=ratios_e)
    emit(workload, "layerkit-function", "steps/s", 1 / t_graph, ratio_vs=ratios_g)
