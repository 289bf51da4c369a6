"""Plugins that outlive the process: a tiny package installed (pip, into a folder of its
own) declares an objective by entry point; another module is named under ``plugins:``.
Both work in a search, in every reader of the run afterwards (fresh processes), and on
every rank of an mpiexec job. A missing plugin is one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import BASE, REPO

PACKAGE = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "xnas-depth-plugin"
        version = "0.1"

        [project.entry-points."xnas.objectives"]
        depth_proxy = "xnas_depth_plugin"
    """,
    "xnas_depth_plugin/__init__.py": '''
        """A user's objective: the number of parameterised layers (counted, not measured)."""
        from xnas.objectives import Measurement, register_objective

        @register_objective("depth_proxy", sense="min", stage="static", provenance="counted")
        def depth(ctx):
            layers = [m for m in ctx.model.modules() if any(True for _ in m.parameters(False))]
            return Measurement(float(len(layers)), {"method": "counted layers"})
    ''',
}
LISTED = """
from xnas.objectives import Measurement, register_objective

@register_objective("width_proxy", sense="min", stage="static", provenance="counted")
def width(ctx):
    return Measurement(float(sum(p.shape[0] for p in ctx.model.parameters())), {})
"""


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """The package built and installed by pip into a folder (dist-info and all), plus a
    plain module for ``plugins:``; neither is in the venv."""
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    for name, text in PACKAGE.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(textwrap.dedent(text))
    target = root / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (target / "my_width.py").write_text(LISTED)
    return target


def run(plugin_path: Path, *args: str, mpi: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(REPO)])}
    head = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(mpi)] if mpi else []
    return subprocess.run(
        [*head, sys.executable, "-m", "xnas", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


SETTINGS = [
    *BASE,
    "search.generations=1",
    "plugins=[my_width]",
    "objectives=[error, depth_proxy, {name: width_proxy, optimize: false}]",
]


@pytest.mark.slow
def test_a_plugins_objective_is_searched_read_and_labelled_as_declared(plugin_path, tmp_path):
    (tmp_path / "c.yaml").write_text("{}\n")
    sets = [a for s in SETTINGS for a in ("--set", s)]
    done = run(
        plugin_path, "search", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "r"), *sets
    )
    assert done.returncode == 0, done.stderr
    for argv in (["status", str(tmp_path / "r")], ["table", str(tmp_path / "r")]):
        read = run(plugin_path, *argv)  # a fresh process finds both by itself
        assert read.returncode == 0, read.stderr
    table = run(plugin_path, "table", str(tmp_path / "r"), "--format", "md").stdout
    assert "depth_proxy" in table and "width_proxy" in table
    export = run(plugin_path, "export", str(tmp_path / "r")).stdout
    assert "depth_proxy_provenance" in export.splitlines()[0]
    assert ",counted," in export  # declared, not assumed 'measured'
    # without the plugin installed: one line naming what is missing, exit 2
    bare = subprocess.run(
        [sys.executable, "-m", "xnas", "status", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert bare.returncode == 2 and len(bare.stderr.strip().splitlines()) == 1
    assert "my_width" in bare.stderr


@pytest.mark.slow
@pytest.mark.mpi
def test_a_plugins_objective_is_computed_on_every_mpi_rank(plugin_path, tmp_path):
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        pytest.skip("needs the mpich wheel's mpiexec in the venv (make test)")
    (tmp_path / "c.yaml").write_text("{}\n")
    sets = [a for s in SETTINGS for a in ("--set", s)]
    done = run(
        plugin_path,
        "search",
        str(tmp_path / "c.yaml"),
        "--run-dir",
        str(tmp_path / "r"),
        *sets,
        mpi=3,
    )
    assert done.returncode == 0, done.stderr
    from xnas.store import RunStore

    with RunStore.open(tmp_path / "r") as store:
        rows = [r for *_, r in store.results()]
    assert rows and all(r.status == "ok" and r.objectives["depth_proxy"] > 0 for r in rows)
    assert {r.rank for r in rows} == {1, 2}


def test_your_own_arrays_are_a_dataset(tmp_path):
    import numpy as np

    from xnas.config import load_config
    from xnas.data import load_dataset
    from xnas.errors import DataError

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (60, 3, 10, 10)).astype(np.uint8), np.arange(60) % 3
    np.savez(
        tmp_path / "d.npz",
        x_train=x,
        y_train=y,
        x_test=x[:12],
        y_test=y[:12],
        classes=np.array(["cat", "dog", "owl"]),
    )
    cfg = load_config(
        None,
        [
            "data.name=tensors",
            f"data.root={tmp_path / 'd.npz'}",
            "data.val_source=test",
            "data.normalize=false",
        ],
    )
    bundle = load_dataset(cfg.data)
    assert bundle.input_shape == (3, 10, 10) and bundle.class_names == ("cat", "dog", "owl")
    assert len(bundle.train) == 60 and len(bundle.val) == 12
    assert float(bundle.train.x.max()) <= 1.0  # bytes scaled to [0, 1]
    np.testing.assert_allclose(bundle.val.x.numpy() * 255, x[:12].astype(np.float32), atol=1e-3)
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=y[:10])
    with pytest.raises(DataError, match="y_train: shape"):
        load_dataset(
            load_config(None, ["data.name=tensors", f"data.root={tmp_path / 'bad.npz'}"]).data
        )
