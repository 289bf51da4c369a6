"""MkDocs hooks: the generated pages (configuration and CLI references from the code, the
changelog from CHANGELOG.md, the deviations from the README) are written before every
build, so they cannot drift."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def on_pre_build(config, **kwargs) -> None:
    sys.path.insert(0, str(ROOT))
    from xnas.reference import cli_markdown, config_markdown

    docs = ROOT / "docs"
    (docs / "reference").mkdir(exist_ok=True)
    _write(docs / "reference" / "config.md", config_markdown())
    _write(docs / "reference" / "cli.md", cli_markdown())
    _write(docs / "changelog.md", (ROOT / "CHANGELOG.md").read_text())
    _write(docs / "deviations.md", deviations_page())


def deviations_page() -> str:
    """The README's deviations section (ground rule: named in the README) as a page."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Deviations from published definitions")
    end = readme.find("\n## ", start + 10)
    body = readme[start : end if end > 0 else None].split("\n", 1)[1]
    return "# Deviations from published definitions\n" + body


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:  # unchanged: no rebuild loop in serve
        path.write_text(text)
