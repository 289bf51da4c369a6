"""Print a short hash of the dependency lists in pyproject.toml.

The Makefile stores it in .venv/.xnas-deps; a changed hash (and only that)
triggers a reinstall, so edits elsewhere in pyproject.toml install nothing.
"""

import hashlib
import json
import sys
import tomllib

with open(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml", "rb") as fh:
    project = tomllib.load(fh)["project"]
payload = json.dumps(
    [project["dependencies"], project.get("optional-dependencies", {})], sort_keys=True
)
print(hashlib.sha256(payload.encode()).hexdigest()[:16])
