"""Data: domains, transfer splits and loaders for real benchmark sets."""

from ._base import Domain, TransferData, check_same_input_shape, few_shot_indices
from .digits import (
    load_mnist,
    load_mnist_usps_jda,
    load_sklearn_digits,
    load_svhn,
    load_usps,
    resize_images,
)

__all__ = [
    "Domain",
    "TransferData",
    "check_same_input_shape",
    "few_shot_indices",
    "load_mnist",
    "load_mnist_usps_jda",
    "load_sklearn_digits",
    "load_svhn",
    "load_usps",
    "resize_images",
]
