"""torchrun: every process of a job writes into one run folder, whether torchrun starts them on one
node or two; a job that torchrun restarts after a process died continues that folder's run to the same
end. Real torchrun agents (this venv's `torch.distributed.run`), real processes, gloo on the CPU.

The refusals are asked of the command-line check itself, in this process, with torchrun's variables."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import KILLER, KILLER_ENV, ROOT
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lessons.cli import run_dir_problem

TORCHRUN = (sys.executable, "-m", "torch.distributed.run")
# C1 on its 1000 points, full batch: 400 steps in 20 Lightning epochs, each ending in a checkpoint.
LESSON = ("lesson=logistic_regression", "epochs=400", "callbacks.progress=null")
DDP_CPU = ("trainer=ddp", "trainer.accelerator=cpu")
TRAIN = ("-m", "lightning_lessons.train", *LESSON, *DDP_CPU)


def torchrun(*args: str, console: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`torchrun <args>` as a user starts it, from the checkout; its console goes to a file (a pipe that
    nobody reads while two agents run would stop one of them, and with it the other)."""
    with console.open("w") as file:
        return subprocess.Popen(
            [*TORCHRUN, *args],
            cwd=ROOT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdout=file,
            stderr=subprocess.STDOUT,
        )


def finished(agent: subprocess.Popen[bytes], console: Path) -> str:
    """The agent's console, once it has ended well."""
    try:
        agent.wait(timeout=300)
    finally:
        if agent.poll() is None:
            agent.terminate()  # torchrun stops its processes on SIGTERM
            try:
                agent.wait(timeout=60)
            except subprocess.TimeoutExpired:
                agent.kill()
    text = console.read_text()
    assert agent.returncode == 0, text[-4000:]
    return text


def the_run(log_dir: Path) -> Path:
    """The lesson's one run folder: there must be no other."""
    (run,) = (log_dir / "logistic_regression").iterdir()
    return run


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def assert_same_results(run: Path, other: Path, exact: bool = False) -> None:
    """The same final weights and validation/test metrics (to float rounding, or to the bit)."""
    mine, theirs = metrics(run), metrics(other)
    assert mine["status"] == theirs["status"] == "completed" and mine["steps"] == theirs["steps"] == 400
    evaluated = [name for name in theirs["metrics"] if name.startswith(("val/", "test/"))]
    assert len(evaluated) == 4
    for name in evaluated:
        assert mine["metrics"][name] == pytest.approx(theirs["metrics"][name], rel=0 if exact else 1e-6), name
    for name, tensor in weights(other).items():
        torch.testing.assert_close(
            weights(run)[name], tensor, rtol=0 if exact else 1e-5, atol=0 if exact else 1e-7
        )


@pytest.fixture(scope="module")
def one_node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's command: two processes on this node; a random job id (torchrun draws one)."""
    log_dir = tmp_path_factory.mktemp("one-node")
    console = log_dir / "console.txt"
    agent = torchrun(
        "--nproc-per-node=2", *TRAIN, "trainer.devices=2", f"paths.log_dir={log_dir}", console=console
    )
    finished(agent, console)
    return the_run(log_dir)


@pytest.mark.heavy
def test_the_processes_of_a_torchrun_job_write_one_run_folder(one_node, monkeypatch):
    assert one_node.name.startswith("torchrun-")  # torchrun-<its job id>, the only folder of the lesson
    assert (one_node / ".hydra" / "config.yaml").is_file() and (
        one_node / "checkpoints" / "best.ckpt"
    ).is_file()
    assert metrics(one_node)["status"] == "completed" and metrics(one_node)["steps"] == 400

    # The same job id again: the folder holds a finished run, and every process refuses before Hydra
    # writes there (their check, asked here).
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", one_node.name.removeprefix("torchrun-"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    problem = run_dir_problem(
        [*LESSON, *DDP_CPU, "trainer.devices=2", f"paths.log_dir={one_node.parents[1]}"]
    )
    assert problem == (
        f"{one_node} holds a finished run: a new run needs another torchrun job id: --rdzv-id=<new name>"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.heavy
def test_two_nodes_on_one_machine_are_one_job_that_trains_as_two_processes_of_one_node(one_node, tmp_path):
    # Two agents, as on two machines: a static rendezvous at node 0's address, one process each.
    port = free_port()
    agents = [
        torchrun(
            "--nnodes=2",
            f"--node-rank={node}",
            "--nproc-per-node=1",
            "--master-addr=127.0.0.1",
            f"--master-port={port}",
            "--rdzv-id=two-nodes",
            *TRAIN,
            "trainer.devices=1",
            "trainer.num_nodes=2",
            f"paths.log_dir={tmp_path / 'logs'}",
            "hydra.verbose=lightning",  # Lightning's lines: which rank each process is
            console=tmp_path / f"node-{node}.txt",
        )
        for node in (0, 1)
    ]
    consoles = [finished(agent, tmp_path / f"node-{node}.txt") for node, agent in enumerate(agents)]
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in consoles[0] and "GLOBAL_RANK: 1, MEMBER: 2/2" in consoles[1]

    run = the_run(tmp_path / "logs")
    assert run.name == "torchrun-two-nodes"
    # Rank 0 (node 0) and rank 1 (node 1) share a batch's halves as two processes of one node do.
    assert_same_results(run, one_node)


@pytest.mark.heavy
def test_a_job_torchrun_restarts_after_rank_0_is_killed_continues_its_run_to_the_same_end(one_node, tmp_path):
    # Rank 0, which writes the run's files, is sent SIGKILL at step 250 (epoch 13 of 20; its last.ckpt
    # holds epoch 12's end, step 240). torchrun stops rank 1 and starts both again, once.
    env = {**KILLER_ENV, "KILL_AT_STEP": "250", "KILL_RANK": "0", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
    agent = torchrun(
        "--nproc-per-node=2",
        "--max-restarts=1",
        *TRAIN,
        KILLER,
        "trainer.devices=2",
        f"paths.log_dir={tmp_path / 'logs'}",
        console=tmp_path / "console.txt",
        env=env,
    )
    console = finished(agent, tmp_path / "console.txt")
    assert "failed (exitcode: -9) local_rank: 0" in console  # torchrun's own report of the kill

    run = the_run(tmp_path / "logs")
    log = (run / "train.log").read_text()
    job = run.name.removeprefix("torchrun-")
    assert f"torchrun job {job} continues its run from {run / 'checkpoints' / 'last.ckpt'}" in log
    # Two attempts in one folder: the first's curve stops at the kill, the second's goes on from 240.
    attempts = sorted(run.glob("events.out.tfevents.*"))
    curves = [steps for path in attempts if (steps := logged_steps(path))]
    assert len(curves) == 2 and max(curves[0]) < 250 and min(curves[1]) >= 240 and max(curves[1]) == 399
    # The same weights and metrics as the job that was never stopped, to the bit.
    assert_same_results(run, one_node, exact=True)


def logged_steps(events_file: Path) -> list[int]:
    """The steps of one events file's training curve (none in the test's file)."""
    accumulator = EventAccumulator(str(events_file), size_guidance={"scalars": 0})
    accumulator.Reload()
    if "train/loss" not in accumulator.Tags()["scalars"]:
        return []
    return [event.step for event in accumulator.Scalars("train/loss")]


def test_a_torchrun_job_without_an_id_a_matching_trainer_or_a_restart_that_can_work_is_refused(
    monkeypatch, tmp_path
):
    argv = [*LESSON, f"paths.log_dir={tmp_path}"]
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")  # a static rendezvous (--master-port) without --rdzv-id
    assert "give the job a name, the same on every node: torchrun --rdzv-id=<name>" in run_dir_problem(argv)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "../elsewhere")
    assert "torchrun --rdzv-id=../elsewhere cannot name a run folder" in run_dir_problem(argv)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-1")
    assert run_dir_problem(argv) is None
    # Two processes of one node, and a trainer of one device (the default) or of -1 (trainer=ddp's GPUs).
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    for trainer in ([], ["trainer=ddp", "trainer.accelerator=cpu"]):
        assert "set trainer=ddp trainer.devices=2 trainer.num_nodes=1" in run_dir_problem([*argv, *trainer])
    assert run_dir_problem([*argv, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]) is None
    # A restart through the store torchrun shares with its processes: gloo would wait for ever.
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "True")
    assert "start torchrun with TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in run_dir_problem(argv)
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "False")
    assert run_dir_problem([*argv, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]) is None
    assert not any(tmp_path.iterdir())  # asked before Hydra: nothing was written


def test_a_torchrun_job_continues_an_unfinished_run_of_its_id_only_with_the_same_settings(
    run_lesson, monkeypatch, tmp_path
):
    # A run of job `job-1` that was killed: its folder has checkpoints and no metrics.json.
    _, run = run_lesson("logistic_regression", "epochs=20", name="logs/logistic_regression/torchrun-job-1")
    (run / "metrics.json").unlink()
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-1")
    argv = ["lesson=logistic_regression", "epochs=20", f"paths.log_dir={tmp_path / 'logs'}"]
    assert run_dir_problem(argv) is None  # continued (train.py: torchrun.continued_checkpoint)
    assert run_dir_problem([*argv, "seed=7"]) == (
        f"{run} holds a run with other settings (seed (42 -> 7), data.seed (42 -> 7)): a new run needs "
        "another torchrun job id: --rdzv-id=<new name>; the same settings continue it"
    )
