"""Pooling layers: max and average pooling over windows, and global pooling."""
from layerkit.layers.pooling.average_pooling1d import AveragePooling1D
from layerkit.layers.pooling.average_pooling2d import AveragePooling2D
from layerkit.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D
from layerkit.layers.pooling.global_average_pooling2d import GlobalAveragePooling2D
from layerkit.layers.pooling.global_max_pooling1d import GlobalMaxPooling1D
from layerkit.layers.pooling.global_max_pooling2d import GlobalMaxPooling2D
from layerkit.layers.pooling.max_pooling1d import MaxPooling1D
from layerkit.layers.pooling.max_pooling2d import MaxPooling2D

# Keras's aliases
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "AvgPool1D",
    "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
]
