"""Reporting: everything xnas shows about a run, over one read-only ``RunView``.

- ``data``: ``read_run(run_dir)`` reads config, results, rungs, generations and front once
  into a frozen ``RunData``, which every report takes (or a run directory);
- ``view``: ``RunView``, that data with every report one method away (``open_run``);
- ``tables``: Pareto set, search cost, the terminal's front table (md, csv, latex);
- ``figures``: Pareto fronts, parallel coordinates, hypervolume, learning curves, cells;
- ``cells``: drawings of one architecture's cells;
- ``frames``: pandas DataFrames and the CSV of ``xnas export``;
- ``status``: what ``xnas status`` prints.

The CLI and ``analysis/`` call these; a notebook does the same::

    from xnas.report import open_run
    run = open_run("runs/demo")
    run.front_frame(); run.frame(); run.plot()
"""

from xnas.report.view import RunView, open_run

__all__ = ["RunView", "open_run"]
