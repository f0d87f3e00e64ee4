"""W3: small CNN training step, input 32x32x3, batch 64: Conv2D(32,3x3,same,relu) -> MaxPool2 ->
Conv2D(64,3x3,same,relu) -> MaxPool2 -> Flatten -> Dense(128,relu) -> Dense(10); SGD with momentum
0.9; steps/s for layerkit (lk.function around the step) and PyTorch eager in the same run."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import emit, median_time, set_threads, torch_or_none
import layerkit as lk
from layerkit import layers, ops

set_threads()
torch = torch_or_none()
BATCH, LR, MOMENTUM = 64, 0.01, 0.9
rng = np.random.default_rng(0)
x_np = rng.standard_normal((BATCH, 32, 32, 3), dtype=np.float32)
y_np = rng.integers(0, 10, BATCH).astype("int32")


def layerkit_step(compiled):
    model = lk.Sequential([
        layers.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)])
    params = model.trainable_weights
    velocity = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]
    x, y = lk.convert_to_tensor(x_np), lk.convert_to_tensor(y_np)

    def step(x, y):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.sparse_softmax_cross_entropy(y, model(x)))
        for p, g, v in zip(params, tape.gradient(loss, params), velocity):
            v.assign(v * MOMENTUM - g * LR)
            p.assign_add(v)
        return loss
    fn = lk.function(step) if compiled else step
    return lambda: fn(x, y)


def torch_step():
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    x, y = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y_np.astype("int64"))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


workload = "W3 CNN train step"
t_graph = median_time(layerkit_step(True), repeats=7)
t_eager = median_time(layerkit_step(False), repeats=7)
rg, re = {}, {}
if torch is not None:
    tt = median_time(torch_step(), repeats=7)
    emit(workload, "pytorch-eager", "steps/s", 1 / tt)
    rg["pytorch-eager"], re["pytorch-eager"] = round(tt / t_graph, 3), round(tt / t_eager, 3)
emit(workload, "layerkit-eager", "steps/s", 1 / t_eager, ratio_vs=re)
emit(workload, "layerkit-function", "steps/s", 1 / t_graph, ratio_vs=rg)
