"""Run directories on real read-only and full file systems (tmpfs mounts in a private
mount namespace, ``unshare -m``): a store copied to read-only media is read where it lies,
figures go where they can be written, and a full disk is said as such and resumed exactly
once space is freed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import BASE, REPO, cfg, stored
from xnas.driver import run_search


def _namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(
    not _namespaces(), reason="needs private mount namespaces (unshare -m, as root)"
)
XNAS = f"PYTHONPATH={REPO} {sys.executable} -m xnas"


def in_namespace(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["unshare", "-m", "bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.mark.slow
def test_a_store_on_read_only_media_is_read_and_plotted_elsewhere(tmp_path):
    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    assert not (run / "xnas.sqlite-shm").exists()  # a clean close: the WAL is checkpointed
    media, out = tmp_path / "media", tmp_path / "figures"
    media.mkdir()
    done = in_namespace(
        f"""
mount -t tmpfs tmpfs {media}
cp -r {run} {media}/run
mount -o remount,ro {media}
{XNAS} status {media}/run
set +e
{XNAS} plot {media}/run 2> {tmp_path}/plot.err; echo "plot rc $?"
set -e
{XNAS} plot {media}/run -o {out}
"""
    )
    assert done.returncode == 0, done.stderr
    assert "generations  1/1" in done.stdout  # read where it lies (immutable, no -shm)
    assert "plot rc 2" in done.stdout
    err = (tmp_path / "plot.err").read_text().strip().splitlines()
    assert len(err) == 1 and "-o" in err[0] and "Read-only" in err[0]
    assert (out / "pareto.png").is_file()  # and drawn where it could be written


@pytest.mark.slow
def test_a_full_disk_is_said_as_such_and_the_run_resumes_exactly(tmp_path):
    overrides = " ".join(f"--set '{o}'" for o in [*BASE, "search.generations=4"])
    (tmp_path / "c.yaml").write_text("{}\n")
    full = tmp_path / "full"
    run_search(cfg("search.generations=4"), full)
    disk = tmp_path / "disk"
    disk.mkdir()
    done = in_namespace(
        f"""
mount -t tmpfs -o size=480k tmpfs {disk}
set +e
{XNAS} search {tmp_path}/c.yaml --run-dir {disk}/run {overrides} 2> {tmp_path}/full.err
echo "search rc $?"
set -e
mount -o remount,size=64m {disk}
{XNAS} resume {disk}/run
cp -r {disk}/run {tmp_path}/resumed
"""
    )
    assert done.returncode == 0, done.stderr
    assert "search rc 2" in done.stdout, (tmp_path / "full.err").read_text()
    err = (tmp_path / "full.err").read_text().strip().splitlines()
    assert len(err) == 1 and "disk full" in err[0] and "damaged" not in err[0], err
    assert "nothing stored is lost" in err[0]
    assert stored(tmp_path / "resumed") == stored(full)  # the same keys, in the same order
