"""A one-node SLURM cluster on this machine, to try `hydra/launcher=slurm` and to test it.

    python scripts/slurm_cluster.py up       # installs Debian's packages if missing, starts the daemons
    eval "$(python scripts/slurm_cluster.py env)"   # then sbatch, srun, squeue, sinfo talk to it
    python scripts/slurm_cluster.py down     # stops the daemons it started, by the pids they wrote

Everything lives in one folder (`.slurm/`, or `--dir`): munge key and socket, `slurm.conf`, state,
spool, logs and pid files; nothing under /etc is changed. The node is this machine, with the CPUs and
memory `slurmd -C` reports. Needs root (packages, the munge user, slurmd), as in CI.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1] / ".slurm"
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
PROGRAMS = ("slurmctld", "slurmd", "sbatch", "munged")
# Stopped in this order: compute daemon, controller, then the authentication they both use.
DAEMONS = ("slurmd", "slurmctld", "munged")
PARTITION = "local"


def conf_path(folder: Path) -> Path:
    return folder / "slurm.conf"


def pid_file(folder: Path, daemon: str) -> Path:
    return folder / "run" / f"{daemon}.pid"


def alive(pid: int, daemon: str) -> bool:
    """Whether process `pid` runs and is that program (not a later process that got its pid, nor a zombie)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return comm == daemon and state != "Z"


def running_pid(folder: Path, daemon: str) -> int | None:
    """The daemon's pid from its pid file, if that process is alive and is that program."""
    try:
        pid = int(pid_file(folder, daemon).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid, daemon) else None


def is_up(folder: Path) -> bool:
    return all(running_pid(folder, daemon) for daemon in DAEMONS)


def client_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "SLURM_CONF": str(conf_path(folder))}


def install() -> None:
    """Debian's packages, as `make test-e2e` installs chromium: only what is missing."""
    if all(shutil.which(program) for program in PROGRAMS):
        return
    print(f"installing {' '.join(PACKAGES)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
    # The packages' scripts try to start system services; with no init system they are refused: harmless.
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        check=True,
        env=env,
        stdout=sys.stderr,  # stdout is kept for the `export` line: eval "$(... up)"
    )


def node_line() -> str:
    """This machine as `slurmd -C` sees it, with a little less memory than it reports: slurmd
    refuses a node whose configured memory is more than it finds, and the OS keeps some."""
    fields = dict(
        item.split("=", 1)
        for item in subprocess.run(["slurmd", "-C"], check=True, capture_output=True, text=True)
        .stdout.splitlines()[0]
        .split()
    )
    memory = int(int(fields["RealMemory"]) * 0.9)
    keys = ("NodeName", "CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    return " ".join(f"{key}={fields[key]}" for key in keys) + f" RealMemory={memory}"


def slurm_conf(folder: Path) -> str:
    host = socket.gethostname().split(".")[0]
    node = node_line()
    cpus = int(node.split("CPUs=")[1].split()[0])
    memory = int(node.split("RealMemory=")[1])
    return "\n".join(
        [
            "# Written by scripts/slurm_cluster.py: one node, this machine.",
            "ClusterName=lessons",
            f"SlurmctldHost={host}",
            f"AuthType=auth/munge\nAuthInfo=socket={folder / 'munge' / 'munge.socket'}",
            "CredType=cred/munge",
            "SlurmUser=root",
            # No cgroups to delegate in a container: track processes by their parent pids.
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none",
            "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory",
            # A job that asks for no memory gets a share per CPU, not the whole node.
            f"DefMemPerCPU={memory // cpus}",
            "MpiDefault=none\nReturnToService=2\nMailProg=/bin/true",
            "AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "KillWait=5\nInactiveLimit=0\nMinJobAge=300",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={pid_file(folder, 'slurmctld')}",
            f"SlurmdPidFile={pid_file(folder, 'slurmd')}",
            f"SlurmctldLogFile={folder / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'log' / 'slurmd.log'}",
            node,
            f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def start_munge(folder: Path) -> None:
    """munged as user munge, with its own key and socket in the folder (munged checks that both
    belong to the user it runs as, that nobody else can read the key and everyone can reach the socket)."""
    munge_dir = folder / "munge"
    munge_dir.mkdir(exist_ok=True)
    munge_dir.chmod(0o711)  # clients reach the socket in it; only munge may list it
    key = munge_dir / "munge.key"
    if not key.exists():
        key.write_bytes(os.urandom(1024))
    user = pwd.getpwnam("munge")
    for path in (munge_dir, key):
        os.chown(path, user.pw_uid, user.pw_gid)
    key.chmod(0o400)
    pid = pid_file(folder, "munged")
    pid.parent.chmod(0o1777)  # munged writes its pid file as user munge
    socket_path = munge_dir / "munge.socket"
    subprocess.run(
        [
            "runuser", "-u", "munge", "--", "munged",
            f"--key-file={key}", f"--socket={socket_path}", f"--pid-file={pid}",
            f"--log-file={munge_dir / 'munged.log'}", f"--seed-file={munge_dir / 'munged.seed'}",
        ],
        check=True,
    )  # fmt: skip
    credential = subprocess.run(["munge", "-n", "-S", str(socket_path)], capture_output=True, check=True)
    check = subprocess.run(["unmunge", "-S", str(socket_path)], input=credential.stdout, capture_output=True)
    if b"Success" not in check.stdout:
        raise SystemExit(f"munge does not work: {check.stdout.decode()}{check.stderr.decode()}")


def wait_until_idle(folder: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        result = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=client_env(folder)
        )
        state = result.stdout.strip() or result.stderr.strip()
        if state == "idle":
            return
        time.sleep(0.5)
    raise SystemExit(f"the node is not idle after {timeout:.0f} s (sinfo: {state}); see {folder / 'log'}")


def up(folder: Path) -> None:
    if is_up(folder):
        print(f"# SLURM is already running ({folder})", file=sys.stderr)
        print_env(folder)
        return
    if os.geteuid() != 0:
        raise SystemExit("starting SLURM needs root (packages, the munge user, slurmd): run it with sudo")
    down(folder, quiet=True)  # whatever is left of an earlier cluster in this folder
    install()
    for name in ("state", "spool", "log", "run"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # munged runs as user munge and must reach its folder inside this one
    conf_path(folder).write_text(slurm_conf(folder))
    start_munge(folder)
    env = client_env(folder)
    subprocess.run(["slurmctld"], check=True, env=env)  # both daemonize and write their pid files
    subprocess.run(["slurmd"], check=True, env=env)
    wait_until_idle(folder)
    print(f"# SLURM is up: one node, partition '{PARTITION}' ({folder})", file=sys.stderr)
    print_env(folder)


def stop(folder: Path, daemon: str, timeout: float = 15) -> None:
    pid = running_pid(folder, daemon)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)  # the daemons remove their pid files at once, and exit a little later
    deadline = time.monotonic() + timeout
    while alive(pid, daemon) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid, daemon):
        os.kill(pid, signal.SIGKILL)


def down(folder: Path, quiet: bool = False) -> None:
    """Cancel the cluster's jobs, then stop its daemons by the pids in their pid files."""
    if running_pid(folder, "slurmctld"):
        env = client_env(folder)
        jobs = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=env).stdout
        if jobs.split():
            subprocess.run(["scancel", *jobs.split()], env=env)
            deadline = time.monotonic() + 30
            while (
                time.monotonic() < deadline
                and subprocess.run(
                    ["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=env
                ).stdout.strip()
            ):
                time.sleep(0.5)
    for daemon in DAEMONS:
        stop(folder, daemon)
    if not quiet:
        print(f"# SLURM is down ({folder})", file=sys.stderr)


def print_env(folder: Path) -> None:
    print(f"export SLURM_CONF={conf_path(folder)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("up", "down", "env", "status"))
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="the cluster's folder (default .slurm/)"
    )
    args = parser.parse_args(argv)
    folder = args.dir.resolve()
    if args.command == "up":
        up(folder)
    elif args.command == "down":
        down(folder)
    elif args.command == "env":
        print_env(folder)
    else:
        running = {daemon: running_pid(folder, daemon) for daemon in DAEMONS}
        print(" ".join(f"{daemon}={pid or '-'}" for daemon, pid in running.items()))
        raise SystemExit(0 if all(running.values()) else 1)


if __name__ == "__main__":
    main()
