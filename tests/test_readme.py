"""The README's Python example runs as written (with a tiny loader standing in for the user's)."""

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    torch.manual_seed(0)
    loader = [(torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 2, 4]))]
    scope = {"loader": loader}
    exec(compile(blocks[0], str(README), "exec"), scope)
    assert scope["model"].num_outputs == 5
    assert torch.isfinite(scope["loss"])


def test_readme_quick_start_commands_match_ci():
    text = README.read_text()
    quick = text[text.index("## Quick start"):]
    bash = re.findall(r"```bash\n(.*?)```", quick, re.S)
    setup, test = bash[0].strip(), bash[1].strip()
    ci = (README.parent / ".ci" / "run").read_text()
    assert setup in ci and test in ci
