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


@pytest.mark.slow
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


class _Killed(Exception):
    """Stands in for a kill at a known training step."""


def test_killed_run_resumes_to_the_same_final_metrics(tmp_path, monkeypatch):
    """Deterministic: the first fine-tuning run dies at the end of its 3rd epoch (a callback
    raises there), leaving its rolling checkpoint; --resume continues it from that epoch and
    ends with exactly the metrics of a run that was never interrupted."""
    import lightning as L

    from transferkit.exceptions import ConfigError
    from transferkit.experiments import parse_config, run_compare

    cfg = {"data": {"kind": "digits", "labels_per_class": [5]},
           "backbone": {"name": "lenet", "params": {"widths": [4, 8], "feature_dim": 16}},
           "methods": [{"name": "full"}], "pretrain": {"epochs": 2},
           "trainer": {"max_epochs": 8, "patience": 0, "seeds": [0], "workers": 1}}

    class KillAt(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            if trainer.current_epoch == 2:
                raise _Killed

    real_init = L.Trainer.__init__
    calls = []

    def init(self, *args, callbacks=None, **kwargs):
        calls.append(kwargs.get("max_epochs"))
        if len(calls) == 2:  # the first fine-tuning run (call 1 is pretraining)
            callbacks = [*(callbacks or []), KillAt()]
        real_init(self, *args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(L.Trainer, "__init__", init)
    killed = tmp_path / "killed"
    with pytest.raises(_Killed):
        run_compare(parse_config(cfg), killed, progress=False)
    monkeypatch.setattr(L.Trainer, "__init__", real_init)
    import torch

    ckpts = list(killed.glob("runs/*/checkpoints/last.ckpt"))
    epoch = torch.load(ckpts[0], map_location="cpu", weights_only=False)["epoch"]
    assert len(ckpts) == 1 and 1 <= epoch < 7  # killed mid-run, its rolling checkpoint left behind
    assert not (killed / "results.json").exists()
    with pytest.raises(ConfigError, match="--resume"):  # refused without --resume; nothing overwritten
        run_compare(parse_config(cfg), killed, progress=False)
    resumed = run_compare(parse_config(cfg), killed, resume=True, progress=False)
    straight = run_compare(parse_config(cfg), tmp_path / "straight", progress=False)
    acc = lambda res: sorted((r["method"], r["seed"], r["metrics"]["accuracy"], r["epochs"]) for r in res["runs"])  # noqa: E731
    assert acc(resumed) == acc(straight)


@pytest.mark.slow
def test_two_process_cpu_ddp_run(tmp_path):
    out = tmp_path / "ddp"
    proc = subprocess.run(
        _cmd(out, "trainer.devices=2", "trainer.strategy=ddp", "trainer.max_epochs=3", "trainer.seeds=[0]"),
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["trainer"]["devices"] == 2 and res["config"]["trainer"]["strategy"] == "ddp"
    assert {r["method"] for r in res["runs"]} == {"scratch", "full", "source_only"}
    assert all(0 <= r["metrics"]["accuracy"] <= 1 for r in res["runs"])
