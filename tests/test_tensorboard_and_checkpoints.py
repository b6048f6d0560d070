"""What a run leaves behind: TensorBoard events, hparams, checkpoints that reload and resume."""

import json

import pytest
import torch
from conftest import events, lesson_config, scalar_values
from hydra.utils import instantiate
from tensorboard.plugins.hparams import plugin_data_pb2

R2_SMALL = (
    "data.n_samples=2000",
    "data.n_val=200",
    "data.n_test=200",
    "model.optimizer.lr=0.05",
    "callbacks.progress=null",
)


@pytest.fixture
def r2_run(run_lesson):
    return run_lesson("linear_regression", *R2_SMALL, "epochs=100")


def test_event_files_hold_scalars_parameters_figures_and_hparams(r2_run):
    _, run_dir = r2_run
    tags = events(run_dir).Tags()
    for tag in (
        "train/loss",
        "val/loss",
        "test/loss",
        "params/weight",
        "params/weight_target",
        "params/bias",
        "final/val/loss",
    ):
        assert tag in tags["scalars"], tag
    assert scalar_values(run_dir, "params/weight_target")[-1] == pytest.approx(1.0)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert scalar_values(run_dir, "params/bias")[-1] == pytest.approx(last["net.bias"].item(), abs=1e-6)
    fit_images = events(run_dir).Images("fit")
    assert len(fit_images) >= 10 and fit_images[-1].step == 100  # every 2 of 20 epochs, and at the end
    assert fit_images[-1].encoded_image_string.startswith(b"\x89PNG")

    hparams = events(run_dir).PluginTagToContent("hparams")
    session = next(
        plugin_data_pb2.HParamsPluginData.FromString(c)
        for c in hparams.values()
        if plugin_data_pb2.HParamsPluginData.FromString(c).HasField("session_start_info")
    )
    values = session.session_start_info.hparams
    assert values["model/optimizer/lr"].number_value == pytest.approx(0.05)
    assert values["lesson_name"].string_value == "linear_regression"
    experiment = next(
        plugin_data_pb2.HParamsPluginData.FromString(c)
        for c in hparams.values()
        if plugin_data_pb2.HParamsPluginData.FromString(c).HasField("experiment")
    )
    metric_tags = {m.name.tag for m in experiment.experiment.metric_infos}
    assert {"final/val/loss", "final/test/loss"} <= metric_tags
    assert "hp_metric" not in tags["scalars"]


def test_run_folder_layout_and_metrics_json(r2_run):
    result, run_dir = r2_run
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["metrics"]["test/loss"] == pytest.approx(result["metrics"]["test/loss"])
    assert saved["best"]["monitor"] == "val/loss" and saved["steps"] == 100


def test_checkpoint_reloads_to_the_same_predictions(tmp_path):
    from lightning_lessons.experiment import build

    cfg = lesson_config(
        "nonlinear_regression", tmp_path, *R2_SMALL[:3], "epochs=50", "callbacks.progress=null"
    )
    experiment = build(cfg)
    experiment.trainer.fit(experiment.model, datamodule=experiment.datamodule)
    x = torch.linspace(-3, 3, 101).unsqueeze(1)
    expected = experiment.model.predict(x)
    path = tmp_path / "saved.ckpt"
    experiment.trainer.save_checkpoint(path)

    fresh = instantiate(cfg.model)
    assert not torch.allclose(fresh.predict(x), expected)
    fresh.load_state_dict(torch.load(path, weights_only=True)["state_dict"])
    assert torch.equal(fresh.predict(x), expected)


def test_resuming_from_last_ckpt_continues_the_epoch_count(run_lesson):
    _, first_dir = run_lesson("linear_regression", *R2_SMALL, "epochs=40", name="first")
    last = first_dir / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 40  # last.ckpt holds the end of training
    resumed, resumed_dir = run_lesson(
        "linear_regression",
        *R2_SMALL,
        "epochs=80",
        "data.steps_per_epoch=2",  # the first run's: its 20 epochs of 2 steps, then 20 more
        f"ckpt_path={last}",
        name="resumed",
    )
    assert resumed["steps"] == 80
    before = [event.step for event in events(first_dir).Scalars("train/loss")]
    after = [event.step for event in events(resumed_dir).Scalars("train/loss")]
    assert min(after) == max(before) + 1 and max(after) - max(before) == 40
    losses = scalar_values(resumed_dir, "train/loss")
    assert losses[0] <= scalar_values(first_dir, "train/loss")[-1] * 1.01
