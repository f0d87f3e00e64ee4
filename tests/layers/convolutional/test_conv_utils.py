"""Tests of the argument checks and shape arithmetic shared by the conv/pool/reshaping layers."""
import numpy as np
import pytest

from layerkit.layers.convolutional import conv_utils as U


def test_standardize_tuple():
    assert U.standardize_tuple("L", 3, 2, "kernel_size") == (3, 3)
    assert U.standardize_tuple("L", [1, np.int64(2)], 2, "strides") == (1, 2)
    assert U.standardize_tuple("L", (0, 1), 2, "padding", allow_zero=True) == (0, 1)
    for bad in (0, (1,), (1, 2, 3), (1.5, 2), "3", None, True):
        with pytest.raises(ValueError, match="L: `kernel_size` must be a positive int or a tuple of 2 positive"):
            U.standardize_tuple("L", bad, 2, "kernel_size")
    with pytest.raises(ValueError, match="non-negative"):
        U.standardize_tuple("L", -1, 2, "padding", allow_zero=True)


def test_standardize_pair_of_pairs():
    assert U.standardize_pair_of_pairs("L", 2, "padding") == ((2, 2), (2, 2))
    assert U.standardize_pair_of_pairs("L", (1, 3), "padding") == ((1, 1), (3, 3))
    assert U.standardize_pair_of_pairs("L", [[1, 0], [2, 3]], "cropping") == ((1, 0), (2, 3))
    for bad in ((1, 2, 3), ((1, 2), (3,)), "x", -1):
        with pytest.raises(ValueError, match="L: `padding`"):
            U.standardize_pair_of_pairs("L", bad, "padding")


def test_padding_and_data_format():
    assert U.standardize_padding("L", "SAME") == "same"
    assert U.standardize_padding("L", "Causal", allow_causal=True) == "causal"
    with pytest.raises(ValueError, match="`padding` must be one of"):
        U.standardize_padding("L", "causal")
    assert U.standardize_data_format("L", None) == "channels_last"
    assert U.standardize_data_format("L", "Channels_First") == "channels_first"
    with pytest.raises(ValueError, match="`data_format`"):
        U.standardize_data_format("L", "NCHW")


def test_output_lengths():
    assert U.conv_output_length(7, 3, 2, "valid") == 3
    assert U.conv_output_length(7, 3, 2, "same") == 4
    assert U.conv_output_length(7, 3, 1, "valid", dilation=3) == 1
    assert U.conv_output_length(None, 3, 1, "valid") is None
    assert U.conv_transpose_output_length(4, 3, 2, "valid") == 9
    assert U.conv_transpose_output_length(4, 1, 3, "valid") == 12
    assert U.conv_transpose_output_length(4, 3, 2, "same") == 8
    assert U.conv_transpose_output_length(4, 3, 2, "same", output_padding=0) == 7
    assert U.conv_transpose_output_length(None, 3, 2, "same") is None
