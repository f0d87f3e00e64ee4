"""The UCI "Optical Recognition of Handwritten Digits" test set, embedded (45 KB).

1,797 grayscale 8x8 images of the digits 0-9, pixel values 0..16 (counts of on pixels in 4x4
blocks of 32x32 bitmaps written by 13 people). Source: E. Alpaydin and C. Kaynak, UCI Machine
Learning Repository (CC BY 4.0), as distributed with scikit-learn. tools/make_digits_npz.py
regenerates the file.
"""
import pathlib

import numpy as np

_PATH = pathlib.Path(__file__).with_name("digits.npz")


def load_data(test_split=0.2, seed=113):
    """Loads the digits, split into train and test sets, as `keras.datasets.mnist.load_data()` does.

    Args:
        test_split: fraction of the samples held out for testing.
        seed: the shuffle before the split (the same seed gives the same split).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (n, 8, 8) with values 0..16,
        and uint8 labels 0..9.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"digits.load_data: `test_split` must be in [0, 1), received {test_split}.")
    with np.load(_PATH) as f:
        images, labels = f["images"], f["labels"]
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_test = int(round(len(labels) * test_split))
    n_train = len(labels) - n_test
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
