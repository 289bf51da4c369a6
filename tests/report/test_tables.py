"""`xnas table`: the Pareto set and the search cost from a real (tiny) run."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.conftest import cfg
from xnas.errors import ConfigError
from xnas.objectives.complexity import count_complexity
from xnas.report.tables import cost_table, pareto_table, render


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from xnas.driver import run_search

    run_dir = tmp_path_factory.mktemp("tables") / "r"
    c = cfg(
        "objectives=[error, params, energy]",
        "cost.inherit=true",
        "cost.inherit_epochs=1",
        "train.epochs=2",
    )
    front = list(run_search(c, run_dir).front)
    return run_dir, front


@pytest.mark.slow
def test_pareto_table_lists_the_front_with_every_objective_and_its_provenance(run):
    run_dir, front = run
    plain, _ = pareto_table(run_dir)  # no counting: reading a run never needs torch
    assert "FLOPs (2 x MACs)" not in plain
    headers, rows = pareto_table(run_dir, complexity=count_complexity)
    assert [r[0] for r in rows] == front
    assert headers[:4] == ["key", "error", "params", "energy (mJ, modelled)"]
    assert {"params", "FLOPs (2 x MACs)", "status", "donor"} <= set(headers)
    flops = headers.index("FLOPs (2 x MACs)")
    assert all(isinstance(r[flops], int) and r[flops] > 0 for r in rows)  # counted on a rebuild


@pytest.mark.slow
def test_cost_table_adds_up_the_store(run):
    from xnas.store import RunStore

    run_dir, _ = run
    headers, (row,) = cost_table(run_dir)
    cost = dict(zip(headers, row, strict=True))
    with RunStore.open(run_dir) as store:
        results = [r for *_, r in store.results()]
    assert cost["evaluations"] == len(results)
    assert cost["epoch-equivalents"] == sum(r.epochs for r in results)
    assert cost["inherited"] == sum(bool(r.donor_key) for r in results) > 0
    assert cost["reused"] == 12 - len(results)  # 3 generations x 4 asked
    assert cost["CPU hours"] > 0 and cost["GPU hours"] == 0 and cost["wall hours"] > 0


@pytest.mark.slow
def test_render_formats(run):
    headers, rows = pareto_table(run[0])
    md = render(headers, rows, "md").splitlines()
    assert md[0].startswith("| key | error") and len(md) == 2 + len(rows)
    assert "\\|" in md[2]  # NB201 keys contain pipes, escaped in Markdown cells
    parsed = list(csv.reader(io.StringIO(render(headers, rows, "csv"))))
    assert parsed[0] == headers and [r[0] for r in parsed[1:]] == [r[0] for r in rows]
    latex = render(headers, rows, "latex", "the front")
    assert latex.startswith("\\begin{table}") and "\\toprule" in latex
    assert "\\caption{the front}" in latex
    # keys verbatim in \texttt (\detokenize keeps ~ and | literal), numbers right-aligned
    assert f"\\texttt{{\\detokenize{{{rows[0][0]}}}}}" in latex
    spec = re.search(r"\\begin\{tabular\}\{(\w+)\}", latex).group(1)
    assert spec[0] == "l" and spec[1] == "r"  # key, then error
    with pytest.raises(ConfigError, match="expected one of md, csv, latex"):
        render(headers, rows, "html")


@pytest.mark.slow
def test_cli_table_writes_a_file(run, tmp_path, capsys):
    from xnas.cli import main

    out = tmp_path / "t.tex"
    assert main(["table", str(run[0]), "--format", "latex", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.count("\\begin{tabular}") == 2 and "\\caption{What run r cost}" in text
