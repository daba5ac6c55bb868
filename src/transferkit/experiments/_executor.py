"""The grid executor every command shares: seeds x methods x budgets as idempotent runs.

Each run has an id (its folder under ``<output>/runs/``) and a *key*: everything that
determines its result (data, backbone, method and its parameters, trainer settings, seed,
budget). A run writes ``result.json`` holding its key's digest when it finishes, so

* a killed grid resumes where it stopped (``--resume``), and a retried run never duplicates;
* a run whose config changed since is refused with a message naming what changed, instead
  of reporting old numbers under the new config.

Runs execute on a :class:`LocalExecutor` (in this process, or side by side in spawned
processes) or on a :class:`RayExecutor` (``trainer.executor: ray``; a local Ray instance or a
cluster at ``trainer.ray_address``). Every run is seeded on its own, so the results do not
depend on the executor. Lightning's DDP/FSDP is how *one* large run scales.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from ._results import write_json

__all__ = ["RunTask", "run_digest", "plan_runs", "method_seed_tasks", "run_grid", "LocalExecutor", "RayExecutor", "make_executor", "PeakMemory"]

log = logging.getLogger("transferkit")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_digest(key: dict[str, Any]) -> str:
    """A short digest of everything that determines a run."""
    return hashlib.sha256(_canonical(key).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunTask:
    """One run of a grid: ``run_id`` names its folder, ``key`` determines its result,
    ``payload`` is what the run function receives (JSON-able)."""

    run_id: str
    key: dict[str, Any]
    payload: dict[str, Any]

    @property
    def digest(self) -> str:
        return run_digest(self.key)


def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def check_resumable(result_file: Path, key: dict[str, Any], what: str) -> bool:
    """True if ``result_file`` holds a finished run with this ``key``; raise if it holds one
    made with another configuration."""
    if not result_file.exists():
        return False
    try:
        stored = json.loads(result_file.read_text())
    except (OSError, json.JSONDecodeError):
        return False  # a half-written file: run again
    if stored.get("digest") == run_digest(key):
        return True
    changes = _diff(stored.get("key", {}), key)
    raise ConfigError(
        f"cannot resume {what}: it was made with another configuration ("
        + ("; ".join(changes[:5]) or "a different key") + (" ..." if len(changes) > 5 else "")
        + "). Use --overwrite to start again, or another --output."
    )


def plan_runs(tasks: Iterable[RunTask], runs_dir: Path, resume: bool) -> tuple[list[dict], list[RunTask]]:
    """``(finished results reused, tasks still to run)``."""
    done, todo = [], []
    for t in tasks:
        f = runs_dir / t.run_id / "result.json"
        if resume and check_resumable(f, t.key, f"run '{t.run_id}'"):
            done.append(json.loads(f.read_text()))
        else:
            todo.append(t)
    return done, todo


def grid_task(run_id: str, key: dict[str, Any], **payload: Any) -> RunTask:
    """One run of a grid: identified by ``run_id``, keyed by ``key`` (everything that determines
    its result); its payload carries the run id, the key and ``payload``."""
    return RunTask(run_id, key, {"run_id": run_id, "key": key, **payload})


def method_seed_tasks(methods: Iterable[Any], seeds: Iterable[int], base_key: dict[str, Any],
                      seeds_outer: bool = False) -> list[RunTask]:
    """One run per (method, seed), keyed by ``base_key`` + the method spec + the seed; methods
    outer by default, seeds outer with ``seeds_outer``. The payload carries the method spec
    (JSON) and the seed."""
    pairs = ([(m, s) for s in seeds for m in methods] if seeds_outer else [(m, s) for m in methods for s in seeds])
    tasks = []
    for m, s in pairs:
        spec = m.model_dump(mode="json")
        key = {**base_key, "method": spec, "seed": s}
        run_id = f"{m.display}__seed{s}"
        tasks.append(grid_task(run_id, key, method=spec, seed=s))
    return tasks


def run_grid(tasks: list[RunTask], fn: RunFn, context: Any, executor: Any, runs_dir: Path,
             resume: bool) -> list[dict[str, Any]]:
    """Reuse the finished runs (``--resume``), execute the rest, return every result in the
    order of ``tasks``."""
    runs, todo = plan_runs(tasks, runs_dir, resume)
    executor.run(fn, context, [t.payload for t in todo], runs.append)
    order = {t.run_id: i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: order.get(r["run_id"], len(order)))
    return runs


def finish_run(runs_dir: Path, task: RunTask, result: dict[str, Any], write: bool = True) -> dict[str, Any]:
    """Stamp ``result`` with the run's key and digest and write its ``result.json``."""
    result = {"run_id": task.run_id, **result, "key": task.key, "digest": task.digest}
    if write:
        write_json(runs_dir / task.run_id / "result.json", result)
    return result


class PeakMemory:
    """Peak memory of one run: CUDA's peak allocation since the run began when on a GPU, else
    the process's resident memory sampled every 20 ms over the run (``ru_maxrss`` is the whole
    process's peak and can only grow from run to run)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_mb = 0.0

    def __enter__(self) -> PeakMemory:
        import threading

        import torch

        self._cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        if self._cuda:
            torch.cuda.reset_peak_memory_stats()
            return self
        import psutil

        proc = psutil.Process()
        self._stop = threading.Event()

        def sample() -> None:
            while True:
                self.peak_mb = max(self.peak_mb, proc.memory_info().rss / 2**20)
                if self._stop.wait(self.interval):
                    return

        sample_once = proc.memory_info().rss / 2**20
        self.peak_mb = sample_once
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cuda:
            import torch

            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
            return
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------- executors

RunFn = Callable[[Any, dict[str, Any]], dict[str, Any]]
_WORKER: dict[str, Any] = {}


def _die_with_parent(parent_pid: int) -> None:
    """On Linux, have the kernel kill this worker when its parent dies (a killed run must not
    leave workers that go on writing into the output directory)."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:  # pragma: no cover - no glibc
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker_init(parent_pid: int, fn: RunFn, context: Any) -> None:
    import torch

    _die_with_parent(parent_pid)
    torch.set_num_threads(1)
    _WORKER.update(fn=fn, context=context)


def _worker_call(payload: dict[str, Any]) -> dict[str, Any]:
    return _WORKER["fn"](_WORKER["context"], payload)


class LocalExecutor:
    """Runs in this process (``workers=1``) or in ``workers`` spawned processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ConfigError(f"trainer.workers must be >= 1, got {workers}")
        self.workers = workers

    def run(self, fn: RunFn, context: Any, payloads: list[dict], on_done: Callable[[dict], None]) -> None:
        if self.workers == 1 or len(payloads) <= 1:
            for p in payloads:
                on_done(fn(context, p))
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(
            min(self.workers, len(payloads)), mp_context=mp.get_context("spawn"),
            initializer=_worker_init, initargs=(os.getpid(), fn, context),
        ) as pool:
            for fut in as_completed([pool.submit(_worker_call, p) for p in payloads]):
                on_done(fut.result())


def _ray_call(fn: RunFn, context: Any, payload: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    return fn(context, payload)


class RayExecutor:
    """Runs on Ray: a local instance (``address=None``; ``num_cpus`` processes) or a cluster
    (``address="auto"`` or ``"host:port"``). The output directory must be reachable from every
    node (a shared file system), since each run writes its own result file."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        from .._utils import require

        self.ray = require("ray", "ray")
        self.address, self.num_cpus = address, num_cpus

    def run(self, fn: RunFn, context: Any, payloads: list[dict], on_done: Callable[[dict], None]) -> None:
        ray = self.ray
        started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.num_cpus or os.cpu_count() or 1
            ray.init(**kwargs)
            started = True
        try:
            remote = ray.remote(num_cpus=1)(_ray_call)
            ctx = ray.put(context)
            fn_ref = ray.put(fn)
            pending = [remote.remote(fn_ref, ctx, p) for p in payloads]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                on_done(ray.get(ready[0]))
        finally:
            if started:
                ray.shutdown()


def make_executor(trainer: Any, workers: int) -> LocalExecutor | RayExecutor:
    if trainer.executor == "ray":
        return RayExecutor(trainer.ray_address, trainer.workers)
    return LocalExecutor(workers)
