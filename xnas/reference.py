"""The configuration and CLI references, generated from their one source of truth.

``config_markdown()`` walks the config dataclasses (``xnas.config``): every field with its
YAML path, type, default and the comment written beside it (or on the lines just above
it) in ``config.py``; a field without such a comment is a bug (tested). ``cli_markdown()``
renders every subcommand's ``--help`` from the real parser. The docs site builds its
reference pages from these (``docs/hooks.py``), so they cannot drift from the code.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
import typing
from pathlib import Path

from xnas import config as config_module

# the sections of a config file, in the order the page lists them
SECTIONS = (
    ("search", config_module.SearchConfig),
    ("space", config_module.SpaceConfig),
    ("data", config_module.DataConfig),
    ("data.lines", config_module.LinesOptions),
    ("train", config_module.TrainConfig),
    ("objectives[]", config_module.ObjectiveConfig),
    ("measure", config_module.MeasureConfig),
    ("parallel", config_module.ParallelConfig),
    ("cost", config_module.CostConfig),
    ("evaluator", config_module.EvaluatorConfig),
    ("evaluator.columns[]", config_module.TableColumn),
    ("", config_module.Config),
)


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment text on that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's comment: inline, else the comment lines right above it."""
    source = Path(inspect.getsourcefile(config_module) or "").read_text()
    comments = _comments(source)
    lines = source.splitlines()
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    docs = {}
    for stmt in node.body:
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        line = stmt.lineno
        inline = comments.get(stmt.end_lineno or line)
        above = []
        i = line - 1
        while i >= 1 and lines[i - 1].strip().startswith("#"):
            above.insert(0, comments[i])
            i -= 1
        text = " ".join([*above, *([inline] if inline else [])]).strip()
        docs[stmt.target.id] = text
    return docs


def _type_name(tp) -> str:
    text = str(tp) if not isinstance(tp, type) else tp.__name__
    for prefix in ("typing.", "xnas.config.", "<class '"):
        text = text.replace(prefix, "")
    return text.replace("'>", "").replace("NoneType", "None")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
        if dataclasses.is_dataclass(value):
            return "(section)"
    else:
        return "(required)"
    if isinstance(value, tuple):
        value = list(value)
        if value and dataclasses.is_dataclass(value[0]):
            return "[" + ", ".join(getattr(v, "name", "…") for v in value) + "]"
    return "null" if value is None else repr(value).replace("'", "")


def config_rows() -> list[tuple[str, str, str, str]]:
    """(YAML path, type, default, doc) of every config field."""
    rows = []
    for section, cls in SECTIONS:
        hints = typing.get_type_hints(cls, vars(config_module))
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                continue  # a nested section: listed as its own table
            path = f"{section}.{f.name}" if section else f.name
            rows.append((path, _type_name(tp), _default(f), docs.get(f.name, "")))
    return rows


def config_markdown() -> str:
    out = [
        "# Configuration reference",
        "",
        "Every key of a config file (YAML), generated from the config dataclasses "
        "(`xnas/config.py`): the comment beside each field is its documentation here. "
        "Any key can be set on the command line with `--set path=value` "
        "(`--set 'objectives=[error, params]'` for lists). An unknown key or a wrong type "
        "is refused in one line naming it.",
        "",
    ]
    current = None
    for section, cls in SECTIONS:
        if section != current:
            title = f"`{section}`" if section else "top level"
            doc = cls.__doc__ or ""
            doc = "" if doc.startswith(f"{cls.__name__}(") else inspect.cleandoc(doc)
            out += [f"## {title}", "", doc, ""]
            out += ["| key | type | default | what |", "|---|---|---|---|"]
            current = section
        for path, tp, default, doc in config_rows():
            head = path.rsplit(".", 1)[0] if "." in path else ""
            if head == section or (not section and "." not in path):
                cell = doc.replace("|", "\\|")
                tp_, default_ = (t.replace("|", "∣") for t in (tp, default))
                out.append(f"| `{path}` | `{tp_}` | `{default_}` | {cell} |")
        out.append("")
    return "\n".join(out)


def cli_markdown() -> str:
    """Every subcommand's help, as ``xnas CMD --help`` prints it."""
    import os

    from xnas.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: the page does not vary
    parser = build_parser()
    out = [
        "# Command-line reference",
        "",
        "Generated from the parser (`xnas/cli.py`): what `xnas --help` and "
        "`xnas COMMAND --help` print.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        out += [f"## `xnas {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(out)
