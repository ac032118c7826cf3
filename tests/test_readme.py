"""The README's Python example runs as written, in a fresh interpreter."""

import os
import re
import subprocess
import sys

import pytest

from tests.workflow_helpers import ROOT


def python_blocks(path):
    """Return the code of every ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.slow
def test_readme_python_example_runs():
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) == 1
    # Print what the example's last lines name, so that the test also
    # checks the shapes that the comments promise.
    code = blocks[0] + "\nprint(result.jne.shape, result.jne_ss.shape)\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "(500,) (200, 500)"
