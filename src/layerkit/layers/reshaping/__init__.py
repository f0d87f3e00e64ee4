"""Reshaping layers of the spatial family: zero padding, cropping and upsampling."""
from layerkit.layers.reshaping.cropping1d import Cropping1D
from layerkit.layers.reshaping.cropping2d import Cropping2D
from layerkit.layers.reshaping.up_sampling1d import UpSampling1D
from layerkit.layers.reshaping.up_sampling2d import UpSampling2D
from layerkit.layers.reshaping.zero_padding1d import ZeroPadding1D
from layerkit.layers.reshaping.zero_padding2d import ZeroPadding2D

__all__ = ["Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
