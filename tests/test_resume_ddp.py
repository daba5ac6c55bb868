"""Stopping and resuming a killed run, and 2-process CPU DDP (both as real subprocesses)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = [
    "data.labels_per_class=[10]", "trainer.seeds=[0]", "trainer.max_epochs=150", "trainer.patience=0",
    "pretrain.epochs=3", "methods=[{name: full}]", "backbone.params={widths: [6, 12], feature_dim: 32}",
]


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "transferkit", "compare", "-o", str(out), "--no-progress", *ARGS, *extra]


def _env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _accuracies(out: Path) -> list:
    res = json.loads((out / "results.json").read_text())
    return sorted((r["method"], r["seed"], r["metrics"]["accuracy"], r["epochs"]) for r in res["runs"])


def test_workers_die_with_a_killed_parent(tmp_path):
    """Even when only the main process is killed, no worker goes on writing results."""
    out = tmp_path / "orphans"
    proc = subprocess.Popen(_cmd(out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not list(out.glob("runs/*/checkpoints/last.ckpt")) and time.time() < deadline:
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    time.sleep(2)
    snapshot = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    time.sleep(3)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == snapshot
    assert not list(out.glob("runs/*/result.json"))


def test_killed_run_resumes_to_the_same_final_metrics(tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    try:
        # wait until a fine-tuning run is mid-way: its last.ckpt exists but its result does not
        while time.time() < deadline:
            mid = [c for c in killed.glob("runs/*/checkpoints/last.ckpt") if not (c.parent.parent / "result.json").exists()]
            if mid and proc.poll() is None:
                time.sleep(0.5)
                break
            assert proc.poll() is None, "the run finished before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint appeared in time")
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job, its worker processes included
    finally:
        proc.wait(30)
    time.sleep(0.5)
    assert not (killed / "results.json").exists()
    import torch

    epochs = [torch.load(c, map_location="cpu", weights_only=False)["epoch"] for c in killed.glob("runs/*/checkpoints/last.ckpt")]
    assert epochs and all(0 <= e < 149 for e in epochs), f"not killed mid-run: checkpoint epochs {epochs}"
    # without --resume the directory is refused, and nothing is overwritten
    refused = subprocess.run(_cmd(killed), env=_env(), capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    subprocess.run(_cmd(killed, "--resume"), env=_env(), check=True, capture_output=True)

    straight = tmp_path / "straight"
    subprocess.run(_cmd(straight), env=_env(), check=True, capture_output=True)
    assert _accuracies(killed) == _accuracies(straight)


def test_two_process_cpu_ddp_run(tmp_path):
    out = tmp_path / "ddp"
    proc = subprocess.run(
        _cmd(out, "trainer.devices=2", "trainer.strategy=ddp", "trainer.max_epochs=3", "trainer.seeds=[0]"),
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["trainer"]["devices"] == 2 and res["config"]["trainer"]["strategy"] == "ddp"
    assert {r["method"] for r in res["runs"]} == {"scratch", "full"}
    assert all(0 <= r["metrics"]["accuracy"] <= 1 for r in res["runs"])
