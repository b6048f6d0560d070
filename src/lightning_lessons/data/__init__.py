"""Lesson data modules: every split an in-memory tensor, batched without per-sample Python."""

from lightning_lessons.data.base import TensorDataModule
from lightning_lessons.data.clusters import GaussianClustersDataModule
from lightning_lessons.data.fashion import FashionMNISTDataModule
from lightning_lessons.data.loader import TensorLoader
from lightning_lessons.data.mnist import DataError, MNISTDataModule
from lightning_lessons.data.noisy_mnist import NoisyMNISTDataModule
from lightning_lessons.data.synthetic import SyntheticRegressionDataModule

__all__ = [
    "DataError",
    "FashionMNISTDataModule",
    "GaussianClustersDataModule",
    "MNISTDataModule",
    "NoisyMNISTDataModule",
    "SyntheticRegressionDataModule",
    "TensorDataModule",
    "TensorLoader",
]
