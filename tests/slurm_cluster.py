"""A single-node SLURM cluster on this machine, started for a test and stopped after it.

Debian's ``slurm-wlm`` and ``munge`` packages, run as root, everything in one temporary
folder: a munge key and socket of its own, a minimal ``slurm.conf`` without cgroup plugins
(linuxproc process tracking, no task plugin, no accounting), ``slurmctld -D`` and
``slurmd -D -N <node>`` in the foreground under ``timeout`` (so that no daemon outlives a
killed test). :func:`single_node_cluster` stops every daemon by its PID when the block
ends, whether it succeeded or failed.

``bin/`` of the folder holds two wrappers to put first on ``PATH``: ``sbatch`` writes its
arguments to ``sbatch.log`` (one line per submission) before it submits, and ``srun`` names
the cluster's configuration, which the SLURM executor plugin's job step removes from the
environment of srun with every other ``SLURM_*`` variable (a cluster keeps its
configuration at the default path; this one cannot).

Run by hand (as root) to keep a cluster up while a command runs::

    python tests/slurm_cluster.py -- snakemake ... --workflow-profile workflow/profiles/slurm
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: The programs the cluster needs, and the Debian package of each.
PROGRAMS = {
    "munged": "munge",
    "slurmctld": "slurm-wlm",
    "slurmd": "slurm-wlm",
    "sbatch": "slurm-wlm",
    "squeue": "slurm-wlm",
    "srun": "slurm-wlm",
    "sinfo": "slurm-wlm",
    "scancel": "slurm-wlm",
}
PARTITION = "debug"
CPUS = 2
#: Seconds allowed for the daemons to start, and the longest life of each daemon.
START_TIMEOUT = 60
DAEMON_LIFETIME = 3600


class ClusterUnavailable(RuntimeError):
    """The cluster cannot be started on this machine (the message says why)."""


def unavailable_reason() -> str | None:
    """Why no cluster can be started here, or None."""
    missing = sorted({pkg for prog, pkg in PROGRAMS.items() if shutil.which(prog) is None})
    if missing:
        return (f"the Debian packages {', '.join(missing)} are not installed "
                f"(as root: apt-get install -y slurm-wlm munge, or .ci/install-slurm)")
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs"
    return None


@dataclass
class Cluster:
    folder: Path
    node: str
    partition: str
    env: dict[str, str]
    sbatch_log: Path

    def submissions(self) -> list[str]:
        """The arguments of every sbatch call so far, one string per call."""
        if not self.sbatch_log.exists():
            return []
        return self.sbatch_log.read_text().splitlines()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _real_memory_mb() -> int:
    """A bit below the memory available now (MB), what the node offers its jobs."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(int(line.split()[1]) / 1024 * 0.8)
    raise ClusterUnavailable("no MemAvailable in /proc/meminfo")


def write_config(folder: Path, node: str) -> Path:
    """The cluster's slurm.conf (one node of CPUS, one partition, no cgroups, no accounting)."""
    lines = [
        "ClusterName=scimeta-test",
        f"SlurmctldHost={node}(127.0.0.1)",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={folder / 'munge' / 'munge.sock'}",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SwitchType=switch/none",
        "MpiDefault=none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SchedulerType=sched/backfill",
        "ReturnToService=2",
        # how long slurmctld remembers a finished job: squeue answers for that long
        "MinJobAge=300",
        f"NodeName={node} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory={_real_memory_mb()} "
        "State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
    ]
    path = folder / "slurm.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_wrappers(folder: Path, conf: Path, sbatch_log: Path) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    wrappers = {
        "sbatch": f"printf '%s\\n' \"$*\" >> '{sbatch_log}'\n"
                  f"exec '{shutil.which('sbatch')}' \"$@\"\n",
        "srun": f"SLURM_CONF='{conf}' exec '{shutil.which('srun')}' \"$@\"\n",
    }
    for name, body in wrappers.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    return bin_dir


def _start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """A daemon in the foreground, ended by ``timeout`` after DAEMON_LIFETIME at the latest."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            ["timeout", "-k", "10", str(DAEMON_LIFETIME), *cmd],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )


def _stop(proc: subprocess.Popen, pid_file: Path | None) -> None:
    """End one daemon: SIGTERM to its ``timeout`` (which passes it on), SIGKILL if it lingers,
    and the daemon's own PID (from its pid file) if it is still alive."""
    daemon_pid = None
    if pid_file is not None and pid_file.exists():
        with contextlib.suppress(ValueError):
            daemon_pid = int(pid_file.read_text().split()[0])
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if daemon_pid is not None:
        # still this daemon (not a process that got its PID since)?
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{daemon_pid}/cmdline").read_bytes()
            if Path(proc.args[4]).name.encode() in cmdline:
                os.kill(daemon_pid, signal.SIGKILL)


def _wait_until(check, what: str, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tails = "\n".join(
        f"--- {log.name}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        for log in logs if log.exists()
    )
    raise RuntimeError(f"{what} not within {timeout} s\n{tails}")


@contextlib.contextmanager
def single_node_cluster(folder: Path | None = None):
    """Start the cluster in ``folder`` (a new temporary folder if None); yield a :class:`Cluster`;
    cancel its jobs and stop every daemon by its PID at the end, even on failure."""
    reason = unavailable_reason()
    if reason:
        raise ClusterUnavailable(reason)
    folder = Path(folder or tempfile.mkdtemp(prefix="slurm-"))
    for sub in ("munge", "state", "spool", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "munge").chmod(0o700)
    node = socket.gethostname().split(".")[0]
    conf = write_config(folder, node)
    sbatch_log = folder / "sbatch.log"
    bin_dir = _write_wrappers(folder, conf, sbatch_log)
    env = {**os.environ, "SLURM_CONF": str(conf),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    logs = [folder / "log" / name for name in ("munged.log", "slurmctld.log", "slurmd.log",
                                                "daemons.out")]
    daemons: list[tuple[subprocess.Popen, Path | None]] = []
    try:
        socket_path = folder / "munge" / "munge.sock"
        daemons.append((_start(
            ["munged", "--foreground", "--force", f"--key-file={key}",
             f"--socket={socket_path}", f"--pid-file={folder / 'munge' / 'munged.pid'}",
             f"--log-file={logs[0]}", f"--seed-file={folder / 'munge' / 'munged.seed'}"],
            logs[3], env), folder / "munge" / "munged.pid"))
        _wait_until(socket_path.exists, "munged started", START_TIMEOUT, logs)
        daemons.append((_start(["slurmctld", "-D"], logs[3], env),
                        folder / "slurmctld.pid"))
        daemons.append((_start(["slurmd", "-D", "-N", node], logs[3], env),
                        folder / "slurmd.pid"))

        def node_idle() -> bool:
            for proc, _ in daemons:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[4]} exited with {proc.returncode}:\n"
                                       + logs[3].read_text(errors="replace")[-3000:])
            state = subprocess.run(["sinfo", "-h", "-n", node, "-o", "%T"], env=env,
                                   capture_output=True, text=True, timeout=20)
            return state.stdout.strip() == "idle"

        _wait_until(node_idle, f"node {node} idle", START_TIMEOUT, logs)
        yield Cluster(folder, node, PARTITION, env, sbatch_log)
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["scancel", "--partition", PARTITION], env=env, timeout=20,
                           capture_output=True)
        for proc, pid_file in reversed(daemons):
            _stop(proc, pid_file)


def main(argv: list[str]) -> int:
    """``python tests/slurm_cluster.py -- COMMAND...``: COMMAND run against a new cluster."""
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    with single_node_cluster() as cluster:
        print(f"cluster in {cluster.folder} (SLURM_CONF={cluster.env['SLURM_CONF']})",
              file=sys.stderr)
        return subprocess.run(argv, env=cluster.env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
