"""Execute the tutorials (jupytext percent scripts, ``docs/tutorials/*.py``) into notebooks
with their outputs, which the docs site renders: ``python docs/run_tutorials.py [NAME ...]``.

A notebook is re-executed only when its script changed (a digest is kept in its metadata).
The test suite runs the same ``execute`` on every tutorial (``tests/test_docs.py``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"


def scripts() -> list[Path]:
    return sorted(TUTORIALS.glob("*.py"))


def execute(script: Path, workdir: Path, timeout: int = 900):
    """The executed notebook of ``script`` (cells run in the repository root; runs write
    under ``workdir``, given to the tutorial as ``XNAS_TUTORIAL_OUT``)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(script)
    # one torch thread in the kernel: a Jupyter kernel with two OpenMP threads on a busy
    # 2-core machine ran a training ~50x slower than the same script (measured)
    env = {"XNAS_TUTORIAL_OUT": str(workdir), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
        ).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nb.metadata["xnas_source_digest"] = digest(script)
    return nb


def digest(script: Path) -> str:
    return hashlib.sha256(script.read_bytes()).hexdigest()[:16]


def main(names: list[str]) -> int:
    import nbformat

    for script in scripts():
        if names and script.stem not in names:
            continue
        target = script.with_suffix(".ipynb")
        if target.exists():
            old = nbformat.read(target, as_version=4)
            if old.metadata.get("xnas_source_digest") == digest(script):
                print(f"[docs] {target.name} up to date")
                continue
        print(f"[docs] executing {script.name}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            nb = execute(script, Path(tmp))
        nbformat.write(nb, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
