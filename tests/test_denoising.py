"""Denoising autoencoders (D1, D2) on tiny IDX files: the noise, the networks, learning, TensorBoard."""

import io

import pytest
import torch
from conftest import MNIST_SMALL, ROOT, events, scalar_values, write_tiny_mnist
from omegaconf import OmegaConf
from PIL import Image
from torch import nn

from lightning_lessons.config import compose
from lightning_lessons.data import NoisyMNISTDataModule
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.nets import ConvAutoencoder, DenseAutoencoder

QUIET = "callbacks.progress=null"
QUALITY = ("mse", "psnr", "ssim")
REAL_MNIST = local_data_dir(ROOT)  # the real files: $LESSONS_DATA_DIR, data/ or ../shared/data


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("noisy") / "data")


def noisy_mnist(data, **settings) -> NoisyMNISTDataModule:
    datamodule = NoisyMNISTDataModule(
        data_dir=str(data), download=False, **{"val_size": 20, "batch_size": 20, **settings}
    )
    datamodule.setup()
    return datamodule


def test_evaluation_noise_is_fixed_per_image_by_the_noise_seed(tiny_data):
    first, again = noisy_mnist(tiny_data, noise_seed=3), noisy_mnist(tiny_data, noise_seed=3)
    for split in ("val", "test"):
        noisy, clean = first.splits[split]
        assert torch.equal(noisy, again.splits[split][0]) and torch.equal(clean, again.splits[split][1])
        assert noisy.min() >= 0 and noisy.max() <= 1 and clean.min() >= 0 and clean.max() <= 1
        assert (noisy - clean).abs().mean() > 0.2
    assert not torch.equal(first.splits["test"][0], noisy_mnist(tiny_data, noise_seed=4).splits["test"][0])
    # The run's seed picks the validation images, not their noise: the test set is the same for all seeds.
    reseeded = noisy_mnist(tiny_data, noise_seed=3, seed=1)
    assert torch.equal(reseeded.splits["test"][0], first.splits["test"][0])
    assert not torch.equal(reseeded.indices["val"], first.indices["val"])
    # Each image's noise has its own seed: it does not depend on the other images drawn with it.
    shape = torch.Size([1, 28, 28])
    alone, together = (
        first.seeded_noise(torch.tensor([7]), shape),
        first.seeded_noise(torch.tensor([2, 7]), shape),
    )
    assert torch.equal(alone[0], together[1]) and not torch.equal(together[0], together[1])
    noisy, clean = first.splits["val"]
    assert torch.equal(noisy, first.corrupt(clean, first.seeded_noise(first.indices["val"], shape)))


def test_training_noise_is_fresh_every_batch_with_the_notes_sigma(tiny_data):
    datamodule = noisy_mnist(tiny_data)
    (clean,) = next(iter(datamodule.train_dataloader()))
    noisy, target = datamodule.on_after_batch_transfer((clean,), 0)
    again, _ = datamodule.on_after_batch_transfer((clean,), 0)
    assert target is clean and noisy.shape == clean.shape and not torch.equal(noisy, again)
    # clamp(0.5 + 0.5 * randn, 0, 1): clipped to 0 where randn < -1, about 15.9% of pixels.
    grey = torch.full((2000, 1, 28, 28), 0.5)
    noisy, _ = datamodule.on_after_batch_transfer((grey,), 0)
    assert noisy.min() == 0 and noisy.max() == 1 and noisy.mean().item() == pytest.approx(0.5, abs=0.005)
    assert (noisy == 0).float().mean().item() == pytest.approx(0.1587, abs=0.005)
    evaluation_batch = datamodule.splits["val"]
    assert datamodule.on_after_batch_transfer(evaluation_batch, 0) is evaluation_batch


def test_networks_are_the_notes_autoencoders():
    dense = DenseAutoencoder()
    widths = [layer.out_features for layer in dense.modules() if isinstance(layer, nn.Linear)]
    assert widths == [128, 64, 32, 64, 128, 784]
    assert isinstance(dense.encoder[-1], nn.ReLU) and isinstance(dense.decoder[-1], nn.Linear)
    conv = ConvAutoencoder()
    kinds = [type(layer).__name__ for layer in [*conv.encoder, *conv.decoder]]
    encoder = ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"]
    assert kinds == [*encoder, "Upsample", "Conv2d", "ReLU", "Upsample", "Conv2d"]
    assert conv.decoder[0].mode == "nearest"
    images = torch.rand(5, 1, 28, 28)
    assert dense(images).shape == images.shape and conv(images).shape == images.shape
    assert conv.encoder(images).shape == (5, 128, 7, 7)


@pytest.mark.parametrize(
    ("lesson", "settings"),
    [
        (
            "denoise_mlp",
            {"data.batch_size": 4, "model.optimizer._target_": "torch.optim.Adam", "trainer.max_epochs": 10},
        ),
        (
            "denoise_conv",
            {"data.batch_size": 64, "model.optimizer._target_": "torch.optim.Adam", "trainer.max_epochs": 5},
        ),
    ],
)
def test_lessons_default_to_the_notes_settings(lesson, settings):
    cfg = compose([f"lesson={lesson}", "paths.output_dir=/tmp/unused"])
    for key, value in settings.items():
        assert OmegaConf.select(cfg, key) == value
    assert cfg.model.loss._target_ == "torch.nn.MSELoss" and cfg.data.sigma == 0.5


@pytest.mark.parametrize(
    ("lesson", "overrides"),
    [
        ("denoise_mlp", ("data.batch_size=4", "trainer.max_epochs=20")),
        ("denoise_conv", ("trainer.max_epochs=3",)),
    ],
)
def test_lessons_learn_to_denoise_and_log_quality_and_figures(run_lesson, tiny_data, lesson, overrides):
    result, run_dir = run_lesson(lesson, f"paths.data_dir={tiny_data}", *MNIST_SMALL, *overrides, QUIET)
    metrics = result["metrics"]
    clean = noisy_mnist(tiny_data).splits
    mean_image = clean["train"][0].mean(dim=0)
    mean_image_mse = (clean["test"][1] - mean_image).pow(2).mean().item()
    for stage in ("val", "test"):
        assert metrics[f"{stage}/mse"] < 0.25 * metrics[f"{stage}/mse_noisy"]
        assert metrics[f"{stage}/psnr"] > metrics[f"{stage}/psnr_noisy"] + 5  # dB
        assert metrics[f"{stage}/ssim"] > metrics[f"{stage}/ssim_noisy"]
    # Better than the best input-blind guess: the network reads the noisy image.
    assert metrics["test/mse"] < 0.5 * mean_image_mse
    tags = events(run_dir).Tags()
    expected = {
        f"{stage}/{name}{kind}" for stage in ("val", "test") for name in QUALITY for kind in ("", "_noisy")
    }
    assert expected <= set(tags["scalars"])
    epochs = result["epochs"]
    psnr = scalar_values(run_dir, "val/psnr")
    assert len(psnr) == epochs and psnr[-1] > psnr[0]
    assert len(set(scalar_values(run_dir, "val/psnr_noisy"))) == 1  # the same noisy images every epoch
    figures = events(run_dir).Images("denoising/val")
    assert len(figures) == epochs and len(events(run_dir).Images("denoising/test")) == 1
    figure = Image.open(io.BytesIO(figures[-1].encoded_image_string))
    assert figure.width > 2 * figure.height > 100


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_MNIST / "MNIST" / "raw").is_dir(), reason=f"no real MNIST in {REAL_MNIST}")
def test_d2_gains_8_db_over_the_noisy_input_after_one_epoch_of_real_mnist(run_lesson):
    result, _ = run_lesson(
        "denoise_conv", f"paths.data_dir={REAL_MNIST}", "data.download=false", "trainer.max_epochs=1", QUIET
    )
    metrics = result["metrics"]
    assert metrics["test/psnr"] - metrics["test/psnr_noisy"] >= 8.0
    assert metrics["test/ssim"] > metrics["test/ssim_noisy"] + 0.4
