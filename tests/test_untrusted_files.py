"""No file a user can hand the project runs code: a checkpoint holding a pickled object, a run folder whose
saved config or overrides name a `_target_` the project's configs never build.

Each malicious file here creates a marker file when it is loaded as Hydra or pickle would load it (the
first tests prove that they do); every command must refuse it in one `error:` line, exit 2, and leave
no marker. The cheapest proof of each case runs in this process; the commands as a user types them are
`heavy`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import TINY_TRANSFER, cli, lesson_config, tool
from hydra.utils import instantiate
from omegaconf import OmegaConf

from lightning_lessons.cli import resume_arguments
from lightning_lessons.errors import CheckpointError, ConfigError, RunFolderError
from lightning_lessons.eval import evaluate
from lightning_lessons.models import PretrainedWeights
from lightning_lessons.predict import predict
from lightning_lessons.results.checkpoints import AtomicCheckpointIO, checkpoint_to_resume, read_checkpoint
from lightning_lessons.results.runs import RENAMED, Run
from lightning_lessons.results.sweeps import Job
from lightning_lessons.results.targets import TRUSTED_ENV, conf_targets
from lightning_lessons.studies.figures import fitted, reload_check

R2 = ("epochs=40", "data.n_samples=200", "callbacks.progress=null", "print_config=false")


class Payload:
    """Pickled, it is a call of `os.system` that creates `marker`: what an attacker's file holds."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def pickled_checkpoint(path: Path, marker: Path) -> Path:
    """A checkpoint-shaped torch.save file that creates `marker` if it is ever unpickled."""
    torch.save({"state_dict": Payload(marker), "epoch": 0, "global_step": 0}, path)
    return path


def code_node(target: str, marker: Path, payload: Path) -> dict:
    """A config node whose building creates `marker`: torch.load of a pickle, a call that makes the file,
    a shell command (Hydra's own blocklist stops only the last)."""
    if target == "torch.load":
        return {"_target_": target, "f": str(payload), "weights_only": False}
    if target == "pathlib.Path.touch":
        return {"_target_": target, "_args_": [str(marker)]}
    return {"_target_": target, "_args_": [f"touch {marker}"]}


CODE = ("torch.load", "pathlib.Path.touch", "os.system")


@pytest.fixture(scope="module")
def r2_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A real R2 run (40 epochs on 200 points), trained once for the module."""
    from lightning_lessons.train import train

    folder = tmp_path_factory.mktemp("logs") / "linear_regression" / "source"
    train(lesson_config("linear_regression", folder, *R2))
    return Run(folder)


@pytest.fixture
def copy(r2_run: Run, tmp_path: Path) -> Run:
    """A copy of the R2 run, as a user gets one from someone else: the test edits it."""
    folder = tmp_path / "logs" / "linear_regression" / "copy"
    shutil.copytree(r2_run.folder, folder)
    return Run(folder)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


def edit_config(run: Run, key: str, node: object) -> None:
    cfg = OmegaConf.load(run.config_path)
    OmegaConf.update(cfg, key, node, merge=False, force_add=True)  # the node as the user wrote it
    OmegaConf.save(cfg, run.config_path)


def add_override(run: Run, override: str) -> None:
    OmegaConf.save([*run.saved_overrides(), override], run.overrides_path)


# --- the malicious files are live ----------------------------------------------------------------------


def test_the_malicious_files_would_run_their_code(tmp_path, marker):
    # The pickle calls a shell command when loaded: read statically, never run here.
    path = pickled_checkpoint(tmp_path / "evil.ckpt", marker)
    assert {"posix.system", "os.system"} & set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    # Hydra builds whatever a config names, unless refused first.
    instantiate(OmegaConf.create(code_node("pathlib.Path.touch", marker, path)))
    assert marker.exists()


# --- checkpoints -----------------------------------------------------------------------------------------


def test_a_pickled_checkpoint_is_refused_unread_by_every_reader(copy, marker, tmp_path):
    pickled_checkpoint(copy.best, marker)
    pickled_checkpoint(copy.last, marker)
    readers = {
        "read_checkpoint": lambda: read_checkpoint(copy.best),
        "Lightning's ckpt_path read": lambda: AtomicCheckpointIO().load_checkpoint(copy.best),
        "eval": lambda: evaluate(run=str(copy.folder)),
        "predict": lambda: predict(None, str(copy.best), ["a.png"]),
        "resume": lambda: resume_arguments([f"resume={copy.folder}", "epochs=80"]),
        "ckpt_path": lambda: checkpoint_to_resume(str(copy.last), Run(tmp_path / "new"), 100),
        "transfer": lambda: PretrainedWeights(
            "linear_regression", "net", checkpoint=str(copy.best)
        ).state_dict(),
    }
    for reader, read in readers.items():
        with pytest.raises(
            CheckpointError, match=r"holds pickled objects \(posix\.system\), not only tensors: refused"
        ) as caught:
            read()
        assert "\n" not in str(caught.value), reader
    assert not marker.exists()


def test_a_bare_pickle_is_not_read_at_all(tmp_path, marker):
    import pickle

    path = tmp_path / "bare.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    with pytest.raises(CheckpointError, match=r"is not a readable checkpoint"):
        read_checkpoint(path)
    assert not marker.exists()


def test_a_studys_saved_weights_are_read_as_data(copy, marker):
    from lightning_lessons.callbacks.state_dict import PREDICTIONS

    pickled_checkpoint(copy.folder / PREDICTIONS, marker)
    with pytest.raises(CheckpointError, match="holds pickled objects"):
        reload_check(Job(copy.folder, {}, "completed"))
    assert not marker.exists()


# --- saved configs ---------------------------------------------------------------------------------------

PLACES = {"data": "data", "a callbacks list": "callbacks.extra[0]", "model.net": "model.net.init"}


@pytest.mark.parametrize("target", CODE)
@pytest.mark.parametrize("place", PLACES)
def test_a_saved_config_naming_code_is_refused_by_every_consumer(target, place, copy, marker, tmp_path):
    node = code_node(target, marker, pickled_checkpoint(tmp_path / "payload.pt", marker))
    key = PLACES[place]
    edit_config(copy, key.removesuffix("[0]"), [node] if key.endswith("[0]") else node)
    consumers = {
        "eval": lambda: evaluate(run=str(copy.folder)),
        "predict": lambda: predict(None, str(copy.best), ["a.png"]),
        "resume": lambda: resume_arguments([f"resume={copy.folder}", "epochs=80"]),
        "study figures": lambda: fitted(Job(copy.folder, {}, "completed")),
    }
    for consumer, use in consumers.items():
        with pytest.raises(ConfigError) as caught:
            use()
        message = str(caught.value)
        assert message.startswith(f"{copy.config_path} names {key}._target_={target}, "), consumer
        assert "refused" in message and "\n" not in message, consumer
    assert not marker.exists()


def test_a_target_made_by_an_interpolation_is_refused(copy, marker):
    node = f"{{_target_: pathlib.Path.touch, _args_: ['{marker}']}}"
    edit_config(copy, "model.net.init", f'${{oc.create:"{node}"}}')
    with pytest.raises(ConfigError, match=r"model\.net\.init\._target_=pathlib\.Path\.touch"):
        copy.config()
    assert not marker.exists()


def test_a_saved_override_naming_code_is_refused(copy, marker, tmp_path):
    payload = pickled_checkpoint(tmp_path / "payload.pt", marker)
    add_override(copy, f"+data.extra={{_target_: torch.load, f: '{payload}', weights_only: false}}")
    with pytest.raises(ConfigError, match=rf"^{copy.overrides_path} names data\.extra\._target_=torch\.load"):
        resume_arguments([f"resume={copy.folder}", "epochs=80"])
    assert not marker.exists()


def test_a_saved_hydra_setting_is_refused(copy):
    add_override(copy, "hydra.searchpath=[file:///tmp]")
    with pytest.raises(ConfigError, match=r"holds 'hydra\.searchpath=\[file:///tmp\]', which no run saves"):
        copy.config()


def test_targets_named_in_the_environment_are_yours(copy, monkeypatch):
    edit_config(copy, "callbacks.mine", {"_target_": "mine.Callback"})
    with pytest.raises(ConfigError, match=r"callbacks\.mine\._target_=mine\.Callback"):
        copy.config()
    monkeypatch.setenv(TRUSTED_ENV, "other.Thing, mine.Callback")
    assert copy.config().callbacks.mine._target_ == "mine.Callback"


def test_every_class_a_saved_config_may_be_renamed_to_is_one_conf_builds():
    assert set(RENAMED.values()) <= conf_targets()
    assert "lightning_lessons.callbacks.state_dict.SaveStateDict" in conf_targets()  # in a study's override


def test_a_broken_saved_config_is_named_in_one_line(copy):
    copy.config_path.write_text(copy.config_path.read_text() + "data:\n  _target_: [oops\n")
    with pytest.raises(RunFolderError, match=rf"^{copy.config_path} is not valid YAML \(line \d+\): "):
        evaluate(run=str(copy.folder))


# --- weights that do not fit, checkpoints of another lesson ---------------------------------------------


def test_the_run_itself_still_evaluates(copy):
    assert evaluate(run=str(copy.folder))["test/loss"] == pytest.approx(
        copy.metrics()["metrics"]["test/loss"]
    )


def test_a_changed_network_is_named_not_a_load_state_dict_traceback(copy):
    fits = rf"^the weights in {copy.best} do not fit the network the config builds \("
    with pytest.raises(CheckpointError, match=fits + r"size mismatch for net\.weight: .*\[1, 1\].*\[3, 1\]"):
        evaluate(run=str(copy.folder), overrides=["model.net.out_features=3"])
    edit_config(copy, "model.net._target_", "lightning_lessons.nets.MLP")
    edit_config(copy, "model.net.hidden", [4])
    with pytest.raises(
        CheckpointError, match=fits + r'Missing key.*"net\.0\.weight".*Unexpected key.*"net\.weight"'
    ):
        evaluate(run=str(copy.folder))


def test_a_checkpoint_of_another_lesson_says_whose_it_is(r2_run, tmp_path):
    other = Run(tmp_path / "other")
    other.save_config(lesson_config("nonlinear_regression", other.folder))
    whose = rf"^{r2_run.last} is a checkpoint of lesson linear_regression \(run {r2_run.folder}\), and "
    with pytest.raises(CheckpointError, match=whose + "ckpt_path expects one of lesson nonlinear_regression"):
        checkpoint_to_resume(str(r2_run.last), other, 100)
    with pytest.raises(CheckpointError, match=whose + "model.pretrained expects one of lesson mnist_cnn"):
        PretrainedWeights("mnist_cnn", checkpoint=str(r2_run.last)).state_dict()


# --- the commands, as a user types them -------------------------------------------------------------


def assert_refused(completed, marker: Path, *expected: str) -> None:
    """Exit 2, no traceback, one `error:` line that ends the output and says `expected`; no code ran."""
    assert completed.returncode == 2, completed.stderr[-2000:]
    lines = completed.stderr.strip().splitlines()
    assert "Traceback" not in completed.stderr and [line for line in lines if "error:" in line] == lines[-1:]
    assert all(text in lines[-1] for text in expected), lines[-1]
    assert not marker.exists()


@pytest.mark.heavy
@pytest.mark.parametrize("command", ["eval", "predict", "resume", "transfer"])
def test_a_pickled_checkpoint_runs_nothing_in_any_command(command, copy, marker, tiny_mnist_and_fashion):
    pickled_checkpoint(copy.best, marker)
    pickled_checkpoint(copy.last, marker)
    completed = {
        "eval": lambda: tool("eval", f"run={copy.folder}"),
        "predict": lambda: tool("predict", f"ckpt_path={copy.best}", "images=a.png"),
        "resume": lambda: cli(f"resume={copy.folder}", "epochs=80"),
        "transfer": lambda: cli(
            "lesson=transfer_fashion",
            f"model.pretrained.checkpoint={copy.best}",
            f"paths.data_dir={tiny_mnist_and_fashion}",
            f"paths.log_dir={copy.folder.parents[2] / 'transfer'}",
            *TINY_TRANSFER,
        ),
    }[command]()
    assert_refused(completed, marker, "holds pickled objects (posix.system), not only tensors: refused")


@pytest.mark.heavy
@pytest.mark.parametrize("command", ["eval", "predict", "resume"])
@pytest.mark.parametrize("target", CODE[:2])
def test_a_saved_config_naming_code_runs_nothing_in_any_command(command, target, copy, marker, tmp_path):
    edit_config(copy, "data", code_node(target, marker, pickled_checkpoint(tmp_path / "payload.pt", marker)))
    completed = {
        "eval": lambda: tool("eval", f"run={copy.folder}"),
        "predict": lambda: tool("predict", f"ckpt_path={copy.best}", "images=a.png"),
        "resume": lambda: cli(f"resume={copy.folder}", "epochs=80"),
    }[command]()
    assert_refused(completed, marker, f"{copy.config_path} names data._target_={target}")


@pytest.mark.heavy
def test_eval_names_a_broken_config_and_a_changed_network(copy, marker):
    assert_refused(tool("eval", f"run={copy.folder}", "model.net.out_features=3"), marker, "do not fit")
    copy.config_path.write_text(copy.config_path.read_text() + "data:\n  _target_: [oops\n")
    assert_refused(tool("eval", f"run={copy.folder}"), marker, f"{copy.config_path} is not valid YAML")


@pytest.mark.heavy
def test_train_and_transfer_name_a_checkpoint_of_another_lesson(
    r2_run, marker, tiny_mnist_and_fashion, tmp_path
):
    completed = cli("lesson=nonlinear_regression", f"ckpt_path={r2_run.last}", f"paths.log_dir={tmp_path}")
    assert_refused(
        completed, marker, "of lesson linear_regression", "ckpt_path expects one of lesson nonlinear"
    )
    completed = cli(
        "lesson=transfer_fashion",
        f"model.pretrained.checkpoint={r2_run.best}",
        f"paths.data_dir={tiny_mnist_and_fashion}",
        f"paths.log_dir={tmp_path}",
        *TINY_TRANSFER,
    )
    assert_refused(
        completed, marker, "of lesson linear_regression", "model.pretrained expects one of lesson mnist"
    )
