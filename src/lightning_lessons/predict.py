"""Classify your own digits: `python -m lightning_lessons.predict run=<run> images=a.png,b.png` (the run's
best checkpoint; or `ckpt_path=<checkpoint>`). The model and its input normalisation come from the run."""

import sys

import torch
from hydra.utils import instantiate

from lightning_lessons.cli import parse_key_values
from lightning_lessons.data.digits import load_digit
from lightning_lessons.errors import ConfigError, fail, run_or_explain
from lightning_lessons.results.checkpoints import load_weights, read_checkpoint
from lightning_lessons.results.runs import chosen
from lightning_lessons.results.tables import aligned

USAGE = "say which run and which pictures: make predict RUN=logs/mnist_cnn/<run> IMAGES=a.png,b.jpg"


def predict(run: str | None, ckpt_path: str | None, images: list[str]) -> list[tuple[str, int, float]]:
    """(file, digit, probability) for each image, by the model of the run's best checkpoint."""
    found, ckpt_path = chosen(run, ckpt_path, USAGE)
    weights = read_checkpoint(ckpt_path)["state_dict"]  # as data (missing, damaged, pickled: named) first
    cfg = found.config()
    if "mean" not in cfg.data or cfg.model.get("num_classes") is None:
        raise ConfigError(f"{ckpt_path} is from lesson '{cfg.lesson_name}', not an image classifier")
    pictures = torch.stack([load_digit(path) for path in images]).unsqueeze(1)
    model = instantiate(cfg.model)
    load_weights(model, weights, ckpt_path)
    probabilities = model.predict((pictures - cfg.data.mean) / cfg.data.std).softmax(dim=1)
    confidence, digits = probabilities.max(dim=1)
    return [(path, int(d), float(p)) for path, d, p in zip(images, digits, confidence, strict=True)]


def main() -> None:
    settings, extra = parse_key_values(sys.argv[1:], known=("run", "ckpt_path", "images"))
    if extra or not settings.get("images"):
        fail(USAGE)
    images = settings["images"].split(",")
    rows = run_or_explain(lambda: predict(settings.get("run"), settings.get("ckpt_path"), images))
    table = [("file", "digit", "probability")] + [(path, str(d), f"{p:.3f}") for path, d, p in rows]
    print("\n".join(aligned(table, right=(1, 2))))


if __name__ == "__main__":
    main()
