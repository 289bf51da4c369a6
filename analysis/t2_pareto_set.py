"""T2: the Pareto set of the four-objective search (and what it cost).

python analysis/t2_pareto_set.py RUN_DIR [--format md|csv|latex]
"""

from __future__ import annotations

import argparse

from xnas.objectives.complexity import count_complexity
from xnas.report.tables import cost_table, pareto_table, render


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    args = p.parse_args(argv)
    print(render(*pareto_table(args.run_dir, count_complexity), args.format), end="")
    print()
    print(render(*cost_table(args.run_dir), args.format), end="")


if __name__ == "__main__":
    main()
