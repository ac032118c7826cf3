"""Atomic writes: no partial file under the final name, no stale leftovers."""

import os
import signal
import subprocess
import sys

import pytest

from jne._atomic import atomic_path, write_text
from tests.workflow_helpers import ROOT


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_killed_writer_temporary_removed_on_next_write(tmp_path):
    target = tmp_path / "jne_ss.h5"
    # A child process opens a temporary file for the target and is killed
    # with SIGKILL while writing, as the out-of-memory killer would do.
    script = (
        "import sys, time\n"
        "from jne._atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('partial')\n"
        "    print(tmp, flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    leftover = tmp_path / os.path.basename(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert leftover.exists()

    write_text(target, "complete")
    assert target.read_text() == "complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jne_ss.h5"]


def test_live_writer_temporary_kept(tmp_path):
    target = tmp_path / "table.tsv"
    with atomic_path(target) as outer:
        outer.write_text("in progress")
        # Another write to the same target while this process still runs
        # must not remove this process's temporary file.
        write_text(target, "first")
        assert outer.exists()
    assert target.read_text() == "in progress"
