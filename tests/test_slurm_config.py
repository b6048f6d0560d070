"""What a SLURM job asks for, and where its run goes, decided without a cluster (tests/slurm/ submits)."""

import os

import pytest
from hydra import compose, initialize_config_dir
from omegaconf.errors import InterpolationResolutionError

from lightning_lessons.config import CONF_DIR, register_resolvers, stamp
from lightning_lessons.slurm.states import ENDED, QueueWatcher


def launcher(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            ["hydra/launcher=slurm", "lesson=logistic_regression", *overrides],
            return_hydra_config=True,
        )
    return cfg.hydra.launcher


@pytest.mark.parametrize(
    ("overrides", "gpus", "tasks"),
    [
        ((), None, 1),  # accelerator=auto: no GPU request, so a CPU-only cluster takes the job
        (("trainer=cpu",), None, 1),
        (("trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"), None, 2),
        (("trainer=gpu",), 1, 1),
        (("trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"), 4, 4),  # the README's GPU cluster
    ],
)
def test_a_job_asks_for_gpus_only_when_the_trainer_uses_them(overrides, gpus, tasks):
    settings = launcher(*overrides)
    assert settings.gpus_per_node == gpus and settings.tasks_per_node == tasks
    assert settings.cpus_per_task == 1 and settings.mem_per_cpu == "2G" and settings.mem_gb is None


def test_gpus_per_node_must_be_a_number():
    with pytest.raises(InterpolationResolutionError, match=r"set trainer\.devices to the number of GPUs"):
        _ = launcher("trainer=ddp").gpus_per_node  # devices: -1, every GPU of a machine


def test_every_task_of_a_slurm_step_names_the_run_alike_and_a_plain_process_by_its_pid(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "1234")
    monkeypatch.delenv("SLURM_STEP_ID", raising=False)  # the batch script itself: one process
    assert stamp().endswith(f"_{os.getpid()}")
    monkeypatch.setenv("SLURM_STEP_ID", "0")
    assert stamp() == "slurm-1234.0"


def test_without_accounting_a_job_that_left_squeues_list_has_ended_and_the_others_keep_their_state():
    watcher = QueueWatcher(delay_s=600)
    for job in ("7_0", "7_1", "7_2", "8", "9"):
        watcher.register_job(job)
    # squeue --format=%i|%T|%N: 7_0 ran and left, 8 was killed outright; a pending range, a running job.
    info = watcher.read_info("7_[1-2]|PENDING|\n9|RUNNING|node1\n")
    assert {job: info[job]["State"] for job in sorted(info)} == {
        "7_0": ENDED,
        "7_1": "PENDING",
        "7_2": "PENDING",
        "8": ENDED,
        "9": "RUNNING",
    }


def test_the_submitit_names_the_queue_watcher_relies_on_still_exist():
    """slurm/states.py extends submitit's watcher through names submitit keeps private: an upgrade
    that renames them fails here, not in a sweep that waits for ever."""
    from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob

    watcher = SlurmInfoWatcher(delay_s=60)
    assert callable(watcher._make_command) and watcher._make_command() is None  # no jobs: no command
    assert isinstance(watcher._registered, set) and isinstance(watcher._finished, set)
    assert isinstance(SlurmJob.watcher, SlurmInfoWatcher)  # the class attribute JobStates replaces
