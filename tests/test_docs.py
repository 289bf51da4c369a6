"""The documentation's generated references are complete, and the tutorials run.

The configuration reference is generated from the config dataclasses and the comment
beside each field; a field added without one fails here. The tutorials (jupytext scripts
in docs/tutorials/) are executed as notebooks (nbclient, the same code ``make docs`` uses)
and must finish without an error output."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys

import pytest

from tests.conftest import REPO


def test_every_config_field_is_documented_in_the_reference():
    from xnas import config
    from xnas.reference import SECTIONS, config_markdown, config_rows

    rows = config_rows()
    undocumented = [path for path, _, _, doc in rows if not doc.strip()]
    assert not undocumented, f"fields without a comment in xnas/config.py: {undocumented}"
    # every dataclass of config.py is a section, and every leaf field is a row
    listed = {cls for _, cls in SECTIONS}
    found = {
        obj
        for obj in vars(config).values()
        if dataclasses.is_dataclass(obj) and obj.__module__ == config.__name__
    }
    assert found == listed
    page = config_markdown()
    assert "`search.proxy_warm_start`" in page and "`measure.proxy_batch`" in page
    assert len(rows) == page.count("\n| `")


def test_the_cli_reference_covers_every_command():
    from xnas.cli import build_parser
    from xnas.reference import cli_markdown

    page = cli_markdown()
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:
        assert f"## `xnas {name}`" in page
        assert f"usage: xnas {name}" in page
    assert "Examples" in page or "examples" in page


TUTORIALS = sorted((REPO / "docs" / "tutorials").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorials_run_to_the_end(script, tmp_path, request):
    if script.stem == "mnist_mpi":
        request.applymarker(pytest.mark.mpi)
        if not (REPO / ".venv" / "bin" / "mpiexec").exists() and not (
            importlib.util.find_spec("mpi4py")
        ):
            pytest.skip("needs mpiexec (pip install 'xnas[mpi]')")
    sys.path.insert(0, str(REPO / "docs"))
    try:
        from run_tutorials import execute
    finally:
        sys.path.pop(0)
    nb = execute(script, tmp_path)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, errors
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs, "a tutorial with no output shows nothing"
