"""Callbacks: console progress, the checkpoint an interrupted fit leaves, and what lessons show in
TensorBoard beyond their scalars."""

from lightning_lessons.callbacks.classification import DecisionRegions, PredictionFigures
from lightning_lessons.callbacks.denoising import DenoisingFigures
from lightning_lessons.callbacks.every_n_epochs import EveryNEpochs
from lightning_lessons.callbacks.graph import ModelGraph
from lightning_lessons.callbacks.histograms import ParameterHistograms
from lightning_lessons.callbacks.interrupt import InterruptCheckpoint
from lightning_lessons.callbacks.landscape import LossSurface
from lightning_lessons.callbacks.layout import ScalarsLayout, add_layout_charts
from lightning_lessons.callbacks.pr_curves import PRCurves
from lightning_lessons.callbacks.progress import LessonProgressBar
from lightning_lessons.callbacks.projector import EmbeddingProjector
from lightning_lessons.callbacks.regression import FitFigure, ParameterTracker
from lightning_lessons.callbacks.tensorboard import tensorboard_writer

__all__ = [
    "DecisionRegions",
    "DenoisingFigures",
    "EmbeddingProjector",
    "EveryNEpochs",
    "FitFigure",
    "InterruptCheckpoint",
    "LessonProgressBar",
    "LossSurface",
    "ModelGraph",
    "PRCurves",
    "ParameterHistograms",
    "ParameterTracker",
    "PredictionFigures",
    "ScalarsLayout",
    "add_layout_charts",
    "tensorboard_writer",
]
