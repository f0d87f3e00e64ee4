"""Train a small neural network to read handwritten digits, with a hand-written training loop.

The data is the UCI handwritten-digits set that ships with layerkit (1,797 8x8 images). The model
is a two-layer perceptron built with `lk.Sequential`; the training step uses `GradientTape` for
gradients and a few lines of Adam written with ops, compiled with `lk.function`.
Run: python examples/train_digits.py
"""
import time

import numpy as np

import layerkit as lk
from layerkit import ops

lk.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = lk.datasets.digits.load_data()
x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
y_train, y_test = y_train.astype("int32"), y_test.astype("int32")
print(f"{len(x_train)} training and {len(x_test)} test images of 8x8 pixels, 10 classes")


model = lk.Sequential([
    lk.layers.Input(shape=(64,)),
    lk.layers.Dense(128, activation="relu", kernel_initializer=lk.initializers.GlorotUniform(seed=1)),
    lk.layers.Dense(10, kernel_initializer=lk.initializers.GlorotUniform(seed=2)),
])
model.summary()
params = model.trainable_weights


def forward(x):
    return model(x)


# Adam (Kingma & Ba), written with ops: m, v and the step count are variables updated in place.
lr, beta1, beta2, eps = 1e-2, 0.9, 0.999, 1e-7
m = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]
v = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]
t = lk.Variable(np.zeros((), "float32"), trainable=False)


@lk.function  # traced once per batch shape into one optimized graph: forward, backward and update
def train_step(x, y):
    with lk.GradientTape() as tape:
        loss = ops.mean(ops.sparse_softmax_cross_entropy(y, forward(x)))
    grads = tape.gradient(loss, params)
    t.assign_add(1.0)
    scale = lr * ops.sqrt(1.0 - ops.power(beta2, t)) / (1.0 - ops.power(beta1, t))
    for p, g, mi, vi in zip(params, grads, m, v):
        mi.assign(mi * beta1 + g * (1 - beta1))
        vi.assign(vi * beta2 + ops.square(g) * (1 - beta2))
        p.assign_sub(mi * scale / (ops.sqrt(vi) + eps))
    return loss


def accuracy(x, y):
    return float(np.mean(np.asarray(ops.argmax(forward(x), axis=-1)) == y))


print(f"before training: test accuracy {accuracy(x_test, y_test):.3f}")
batch, step, start = 64, 0, time.perf_counter()
for epoch in range(1, 16):
    order = np.random.permutation(len(x_train))
    total = 0.0
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        loss = train_step(x_train[idx], y_train[idx])
        step += 1
        total += float(loss) * len(idx)
    if epoch % 3 == 0 or epoch == 1:
        print(f"epoch {epoch:2d}  loss {total / len(x_train):.4f}  test accuracy {accuracy(x_test, y_test):.3f}")
print(f"trained {step} steps in {(time.perf_counter() - start) * 1e3:.0f} ms; "
      f"final test accuracy {accuracy(x_test, y_test):.3f}")
