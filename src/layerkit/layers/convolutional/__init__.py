"""Convolution layers: Conv1D/2D, their transposes, depthwise and separable convolutions."""
from layerkit.layers.convolutional.base_conv import BaseConv
from layerkit.layers.convolutional.base_conv_transpose import BaseConvTranspose
from layerkit.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
from layerkit.layers.convolutional.base_separable_conv import BaseSeparableConv
from layerkit.layers.convolutional.conv1d import Conv1D
from layerkit.layers.convolutional.conv1d_transpose import Conv1DTranspose
from layerkit.layers.convolutional.conv2d import Conv2D
from layerkit.layers.convolutional.conv2d_transpose import Conv2DTranspose
from layerkit.layers.convolutional.depthwise_conv1d import DepthwiseConv1D
from layerkit.layers.convolutional.depthwise_conv2d import DepthwiseConv2D
from layerkit.layers.convolutional.separable_conv1d import SeparableConv1D
from layerkit.layers.convolutional.separable_conv2d import SeparableConv2D

# Keras's aliases
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

__all__ = [
    "Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D", "DepthwiseConv2D",
    "SeparableConv1D", "SeparableConv2D", "Convolution1D", "Convolution2D", "Convolution1DTranspose",
    "Convolution2DTranspose", "SeparableConvolution1D", "SeparableConvolution2D",
]
