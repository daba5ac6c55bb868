"""Shared test set-up: offline hubs, the shared data root, one thread, seeded RNGs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
if "TRANSFERKIT_DATA" not in os.environ and _default_data.is_dir():
    os.environ["TRANSFERKIT_DATA"] = str(_default_data)

import torch  # noqa: E402

torch.set_num_threads(1)


def shared_data() -> Path:
    return Path(os.environ.get("TRANSFERKIT_DATA", str(_default_data)))


@pytest.fixture
def data_root() -> Path:
    root = shared_data()
    if not root.is_dir():
        pytest.skip(f"shared benchmark data not found at {root}")
    return root


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
