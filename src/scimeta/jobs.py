"""The workflow's jobs, run in worker processes that outlive them.

Every rule of ``workflow/rules/`` runs one script of ``workflow/scripts/``. Run
by Snakemake's ``script:`` directive, each job would be a new Python process
importing pandas, scipy and matplotlib again: 1.2-2 s of CPU per job, more
than the work of most jobs (``benchmarks/stages.py``). The rules therefore
call :func:`run` from a ``run:`` block, and the workflow profile
(``workflow/profiles/default``, ``force-use-threads``) has Snakemake run those
blocks in threads of its own process. :func:`run` hands the script to a pool
of as many worker processes as Snakemake has cores, started once per run from
a fork server that has imported the library (:data:`PRELOAD`): the imports
are paid once per worker, jobs still run in parallel, and a job's crash or
memory stays in its worker.

Where Snakemake runs each job in a process of its own (a cluster executor, or
a run without the profile), :func:`run` runs the script in that process.

The script sees the same ``snakemake`` object as under ``script:`` (``input``,
``output``, ``params``, ``log``, ``wildcards``, ``rule``), with the named
items as attributes; its log file (``log[0]``) receives the library's
logging records for the time of the job, and the traceback of a failure.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import resource
import runpy
import select
import threading
import time
from dataclasses import dataclass

__all__ = ["Files", "Job", "run", "PRELOAD"]

#: What the fork server imports before it starts the workers (each worker inherits them).
PRELOAD = ["numpy", "pandas", "scimeta.stages", "scimeta.workflow", "scimeta.io"]

#: How often (seconds) a worker checks that the run it serves is still there (without pidfd).
ORPHAN_CHECK_SECONDS = 1.0

_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _end_with_the_run(run_pid: int) -> None:
    """Worker initializer: end this worker when the run that started it (process
    ``run_pid``, the Snakemake process holding the pool) is gone.

    The fork server and the workers outlive their run by design of
    :mod:`multiprocessing` (the server lives while any worker does), so a run killed with
    SIGKILL, or by the out-of-memory killer, would leave them holding memory. Each worker
    watches the run's process (a pidfd: that very process, never another given its
    number later) and exits at once when it ends; the fork server then ends too.
    """
    try:
        handle = os.pidfd_open(run_pid)
    except ProcessLookupError:
        os._exit(1)
    except OSError:  # no pidfd (an old kernel): poll the process by its number
        handle = None

    def watch():
        if handle is not None:
            select.select([handle], [], [])  # readable once the process has ended
        else:
            while True:
                try:
                    os.kill(run_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="scimeta-run-watch", daemon=True).start()


class Files(list):
    """A rule's input, output, log, params or wildcards as the script reads them: the
    values in order, the named ones also as attributes, ``[name]``, ``items()`` and
    ``keys()`` (what a script reads of Snakemake's own lists)."""

    def __init__(self, values=(), names=None):
        super().__init__(values)
        self._names = dict(names or {})

    def __getattr__(self, name):
        names = self.__dict__.get("_names", {})
        if name in names:
            return names[name]
        raise AttributeError(name)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._names[key]
        return super().__getitem__(key)

    def items(self):
        return self._names.items()

    def keys(self):
        return self._names.keys()

    def get(self, key, default=None):
        return self._names.get(key, default)

    @classmethod
    def of(cls, namedlist) -> Files:
        """Plain strings and lists of Snakemake's ``Namedlist`` (picklable, no Snakemake)."""

        def plain(value):
            if isinstance(value, list):
                return [plain(v) for v in value]
            return str(value) if isinstance(value, str) else value

        names = {name: plain(value) for name, value in namedlist.items()}
        return cls([plain(v) for v in namedlist], names)


@dataclass(frozen=True)
class Job:
    """What a script reads of a job (the ``snakemake`` object of its module)."""

    rule: str
    input: Files
    output: Files
    params: Files
    log: Files
    wildcards: Files


def execute(script: str, job: Job) -> None:
    """Run ``script`` as ``__main__`` with ``snakemake`` = ``job``, logging to its log."""
    root = logging.getLogger()
    handler = None
    if len(job.log):
        handler = logging.FileHandler(job.log[0], mode="w", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
        root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    start = time.perf_counter()
    try:
        runpy.run_path(script, init_globals={"snakemake": job}, run_name="__main__")
        # the process's peak so far: a worker's peak over the jobs it ran up to this one
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        logging.getLogger("scimeta.jobs").info("rule %s done in %.3f s, peak memory %.0f MB",
                                              job.rule, time.perf_counter() - start, peak)
    except BaseException:
        logging.getLogger("scimeta.jobs").exception("rule %s failed", job.rule)
        raise
    finally:
        root.setLevel(level)
        if handler is not None:
            root.removeHandler(handler)
            handler.close()


def _workers(n: int) -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _pool = concurrent.futures.ProcessPoolExecutor(max_workers=max(1, n),
                                                           mp_context=context,
                                                           initializer=_end_with_the_run,
                                                           initargs=(os.getpid(),))
        return _pool


def run(script, *, name, input, output, params, log, wildcards, workers: int,
        in_process: bool) -> None:
    """Run ``script`` (a file of ``workflow/scripts/``) for one job of Snakemake's.

    ``name`` names the job in its log; ``input`` … ``wildcards`` are the job's lists as
    the ``run:`` block has them;
    ``workers`` the size of the pool (Snakemake's cores); ``in_process`` runs the
    script in this process (the job has a process of its own).
    """
    job = Job(rule=str(name), input=Files.of(input), output=Files.of(output),
              params=Files.of(params), log=Files.of(log), wildcards=Files.of(wildcards))
    if in_process:
        execute(str(script), job)
    else:
        _workers(workers).submit(execute, str(script), job).result()
