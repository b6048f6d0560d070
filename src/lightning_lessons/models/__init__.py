"""LightningModules: how each family of lessons trains a plain `torch.nn` network."""

from lightning_lessons.errors import TrainingDiverged
from lightning_lessons.models.base import LessonModule
from lightning_lessons.models.classification import ClassificationModule
from lightning_lessons.models.denoising import DenoisingModule
from lightning_lessons.models.manual import GradientDescent, ManualRegressionModule
from lightning_lessons.models.regression import RegressionModule
from lightning_lessons.models.transfer import MissingCheckpointError, PretrainedWeights, TransferModule

__all__ = [
    "ClassificationModule",
    "DenoisingModule",
    "GradientDescent",
    "LessonModule",
    "ManualRegressionModule",
    "MissingCheckpointError",
    "PretrainedWeights",
    "RegressionModule",
    "TrainingDiverged",
    "TransferModule",
]
