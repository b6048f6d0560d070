"""Callbacks: console progress and the pictures lessons draw into TensorBoard."""

from lightning_lessons.callbacks.checkpoint import LessonCheckpoint
from lightning_lessons.callbacks.classification import DecisionRegions, PredictionFigures
from lightning_lessons.callbacks.denoising import DenoisingFigures
from lightning_lessons.callbacks.progress import LessonProgressBar
from lightning_lessons.callbacks.regression import FitFigure, ParameterTracker
from lightning_lessons.callbacks.tensorboard import EveryNEpochs, tensorboard_writer

__all__ = [
    "DecisionRegions",
    "DenoisingFigures",
    "EveryNEpochs",
    "FitFigure",
    "LessonCheckpoint",
    "LessonProgressBar",
    "ParameterTracker",
    "PredictionFigures",
    "tensorboard_writer",
]
