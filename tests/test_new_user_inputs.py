"""Inputs a new user tried on a clean clone that slipped through: each is one `error:` line (or the
sensible default), not a traceback, a run in the filesystem's root or a best checkpoint that is the worst."""

import json

import pytest
from PIL import Image

from lightning_lessons.cli import check_command_line, resume_arguments
from lightning_lessons.config import compose
from lightning_lessons.data.digits import load_digit
from lightning_lessons.errors import ConfigError, DataError, ResumeError
from lightning_lessons.report import read_runs, report_text
from lightning_lessons.results.runs import chosen


@pytest.mark.parametrize("value", ["", "null", "' '"])
def test_a_log_folder_that_names_nothing_is_refused(value):
    # paths.log_dir= (empty) used to write the run into the filesystem's root; null was a traceback.
    problem = check_command_line(["lesson=logistic_regression", f"paths.log_dir={value}"])
    assert problem is not None and "names no folder" in problem and "\n" not in problem


def test_the_best_checkpoint_keeps_the_highest_accuracy_and_the_lowest_loss():
    # monitor=val/acc kept mode=min: best.ckpt was the least accurate epoch, and the test ran on it.
    accuracy = compose(["lesson=logistic_regression", "monitor=val/acc"])
    assert accuracy.callbacks.model_checkpoint.mode == "max"
    for lesson in ("logistic_regression", "nonlinear_regression"):
        assert compose([f"lesson={lesson}"]).callbacks.model_checkpoint.mode == "min"
    assert compose(["lesson=denoise_conv", "monitor=val/psnr"]).callbacks.model_checkpoint.mode == "max"


def test_an_image_too_large_to_decode_safely_is_one_line(tmp_path, monkeypatch):
    # PIL refuses pictures past MAX_IMAGE_PIXELS (a decompression bomb): that was a traceback.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    Image.new("L", (40, 40), 255).save(tmp_path / "big.png")
    with pytest.raises(DataError, match=r"cannot read .*big.png as an image"):
        load_digit(tmp_path / "big.png")


def test_report_leaves_out_metrics_that_are_not_numbers(tmp_path):
    for name, value in (("a", 0.9), ("b", None), ("c", "high")):
        (tmp_path / name).mkdir()
        record = {"lesson": "c1", "status": "completed", "metrics": {"test/acc": value, "test/loss": 0.1}}
        (tmp_path / name / "metrics.json").write_text(json.dumps(record))
    runs = read_runs(tmp_path)
    assert [run.metrics for run in runs] == [{"test/acc": 0.9, "test/loss": 0.1}, *[{"test/loss": 0.1}] * 2]
    assert "test/acc" in report_text(runs)


def test_eval_refuses_a_run_and_a_checkpoint_together(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        chosen(str(tmp_path), str(tmp_path / "best.ckpt"), "usage")


def test_an_empty_resume_names_what_to_give():
    with pytest.raises(ResumeError, match="resume= names no run"):
        resume_arguments(["resume="])


@pytest.mark.parametrize(
    ("setting", "first_line"),
    [
        ("epochs=0", "epochs=0 is out of range: must be >= 1"),  # a traceback of the resolver's before
        ("epochs=1e3", "epochs=1000.0 has the wrong type: expected int"),
        ("trainer.log_every_n_steps=0", "(0 would log no training curve at all)"),  # silent before
    ],
)
def test_a_length_or_cadence_that_cannot_work_is_named_first(setting, first_line):
    problem = check_command_line(["lesson=linear_regression", setting])
    assert problem is not None and first_line in problem.splitlines()[0], problem
