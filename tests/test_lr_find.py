"""`make lr-find`: Lightning's `Tuner.lr_find` on a lesson built as `train` builds it; its curve as a PNG
and in TensorBoard; the command it prints trains at the suggested rate, and that rate trains R4 well."""

import shlex
import sys
from pathlib import Path

import pytest
from conftest import events, lesson_config

from lightning_lessons import lr_find
from lightning_lessons.config import compose
from lightning_lessons.errors import ConfigError
from lightning_lessons.train import train


def printed_command(output: str) -> list[str]:
    """The overrides of the `make train LESSON=... ARGS="..."` line the finder printed, lesson first."""
    line = next(line for line in output.splitlines() if line.startswith("train with it: make train "))
    words = shlex.split(line.removeprefix("train with it: make train "))
    lesson = next(w.partition("=")[2] for w in words if w.startswith("LESSON="))
    args = next(w.partition("=")[2] for w in words if w.startswith("ARGS="))
    return [f"lesson={lesson}", *args.split()]


def test_r4_suggestion_curve_and_command(tmp_path: Path, monkeypatch, capsys) -> None:
    logs = tmp_path / "logs"
    argv = ["lesson=nonlinear_regression", f"paths.log_dir={logs}", "seed=3", "num_training=30"]
    monkeypatch.setattr(sys, "argv", ["lr_find", *argv])
    lr_find.main()
    output = capsys.readouterr().out

    suggested = float(output.split("suggested learning rate: ")[1].split()[0])
    assert 0.001 <= suggested <= 0.1  # within the default sweep: a tenth to ten times R4's 0.01
    overrides = printed_command(output)
    assert "num_training=30" not in overrides  # the finder's own setting is no training setting
    cfg = compose(overrides)  # the printed command is one `train` accepts, at the suggested rate
    assert (cfg.lesson_name, cfg.seed, cfg.model.optimizer.lr) == ("nonlinear_regression", 3, suggested)

    (folder,) = (logs / "nonlinear_regression").glob("lr_find_*")
    assert (folder / "lr_find.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    recorded = events(folder)
    losses = recorded.Scalars("lr_find/loss")
    rates = [event.value for event in recorded.Scalars("lr_find/lr")]
    assert 20 <= len(losses) == len(rates) <= 30  # one point a step; fewer when the loss blew up
    assert rates == sorted(rates) and rates[0] == pytest.approx(0.001)
    assert "lr_find" in recorded.Tags()["images"]
    # The search leaves nothing else: no run folder, no checkpoint of the finder's.
    assert sorted(p.name for p in (logs / "nonlinear_regression").iterdir()) == [folder.name]
    assert not list(logs.rglob("*.ckpt"))


def test_a_lesson_that_steps_by_hand_is_refused_naming_those_it_supports(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        lr_find.find_lr(["lesson=two_layer_net_manual", f"paths.log_dir={tmp_path}"])
    message = str(refused.value)
    assert message.startswith("lesson two_layer_net_manual (R5.1) updates its weights by hand"), message
    assert "\n" not in message  # one `error: ...` line (errors.run_or_explain)
    supported = set(message.split("It finds rates for: ")[1].split(", "))
    assert {"nonlinear_regression", "multiclass_classification", "mnist_cnn", "denoise_conv"} <= supported
    assert not {"two_layer_net_manual", "linear_regression_scratch"} & supported
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_training": "ten"}, "num_training takes a whole number"),
        ({"num_training": "5"}, "at least 20 steps"),
        ({"min_lr": "0.1", "max_lr": "0.01"}, "need 0 < min_lr < max_lr"),
        ({"mode": "cosine"}, "choose linear or exponential"),
    ],
)
def test_a_bad_search_setting_is_named(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        lr_find.search_range(settings, lr=0.01)


@pytest.mark.slow
def test_r4_trains_at_the_suggested_rate_within_1_2_times_the_notes_val_loss(tmp_path: Path) -> None:
    """The issue's bar: R4's default length and seed, at the suggestion and at the notes' rate (0.01)."""
    found = lr_find.find_lr(["lesson=nonlinear_regression", f"paths.log_dir={tmp_path / 'logs'}"])
    losses = {}
    for name, lr in (("suggested", found.lr), ("notes", 0.01)):
        cfg = lesson_config("nonlinear_regression", tmp_path / name, f"model.optimizer.lr={lr}")
        losses[name] = train(cfg)["metrics"]["val/loss"]
    print(
        f"R4 val/loss: {losses['suggested']:.4f} at the suggested {found.lr:g}, {losses['notes']:.4f} at 0.01"
    )
    assert losses["suggested"] <= 1.2 * losses["notes"], (found.lr, losses)
