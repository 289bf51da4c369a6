"""The install promise: same packages for pip and conda, a working console script."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "python-build": "build"}  # conda-forge name -> PyPI name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_names = {
        _name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    }
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python"}
    conda = {CONDA_NAMES.get(n, n) for n in conda}
    assert conda == pip_names


def test_deps_hash_ignores_non_dependency_edits(tmp_path):
    text = (REPO / "pyproject.toml").read_text()
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(text)
    b.write_text(text.replace('description = "', 'description = "Edited: '))
    c = tmp_path / "c.toml"
    c.write_text(text.replace('"tqdm>=4.66"', '"tqdm>=4.67"'))

    def run(p: Path) -> str:
        cmd = [sys.executable, str(REPO / "tools" / "deps_hash.py"), str(p)]
        return subprocess.check_output(cmd, text=True).strip()

    assert run(a) == run(b) != run(c)
    # an exact version changed in constraints.txt (beside pyproject.toml) reinstalls too
    before = run(a)
    (tmp_path / "constraints.txt").write_text("# comment\ntqdm==4.66.0\n")
    pinned = run(a)
    (tmp_path / "constraints.txt").write_text("tqdm==4.67.1\n")
    assert before != pinned != run(a)


def test_constraints_pin_every_dependency_and_satisfy_the_lower_bounds():
    """What make installs (constraints.txt) includes every declared package, at a version
    inside pyproject's bounds: the bounds are what CI tests at their upper end."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = Version(version.split("+")[0])
    extras = project["optional-dependencies"]  # gpu: NVML, installed only beside a GPU
    reqs = project["dependencies"] + [r for k, v in extras.items() if k != "gpu" for r in v]
    for text in reqs:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (name, str(pins[name]))


def test_cli_help_lists_subcommands_and_bad_root_exits_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "xnas", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in (
        "data",
        "arch",
        "evaluate",
        "search",
        "resume",
        "status",
        "export",
        "table",
        "plot",
        "demo",
    ):
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), out.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnas",
            "data",
            "--set",
            "data.name=mnist",
            "--set",
            f"data.root={tmp_path / 'missing'}",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing" in lines[0] and "Traceback" not in bad.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "xnas"
    assert script.exists()
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("xnas ")
