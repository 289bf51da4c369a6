"""Print a short hash of the dependency lists in pyproject.toml and of constraints.txt.

The Makefile stores it in .venv/.xnas-deps; a changed hash (and only that)
triggers a reinstall, so edits elsewhere in pyproject.toml install nothing.
"""

import hashlib
import json
import sys
import tomllib
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
project = tomllib.loads(path.read_text())["project"]
constraints = path.with_name("constraints.txt")
pins = sorted(
    line.strip()
    for line in (constraints.read_text().splitlines() if constraints.exists() else [])
    if line.strip() and not line.startswith("#")
)
payload = json.dumps(
    [project["dependencies"], project.get("optional-dependencies", {}), pins], sort_keys=True
)
print(hashlib.sha256(payload.encode()).hexdigest()[:16])
