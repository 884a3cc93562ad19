"""The strategy files betbot ships: the top-level `strategies/` directory of a clone, or its copy in the wheel.

Theory of operation. The files a user reads, copies and edits (DiceBot-style Lua scripts, advanced-mode
presets as TOML settings files, a Python plug-in example) live in `strategies/` at the top of the source
tree. The wheel carries them as package data under `betbot/_strategies` (hatch `force-include`), and the
Docker image installs that wheel. `shipped_dir()` finds them: the package copy when betbot is installed,
else the clone's directory (a source checkout, an editable install). Nothing here imports or runs a file:
the one-line summary is read from the file's first comment (TOML `#`, Lua `--`) or, for Python, the first
line of its module docstring (parsed, never imported).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["KINDS", "ShippedFile", "find_shipped", "shipped_dir", "shipped_files", "summary_of"]

_PACKAGE_COPY: Final = Path(__file__).resolve().parent.parent / "_strategies"
_CLONE_DIR: Final = Path(__file__).resolve().parent.parent.parent / "strategies"

#: What each kind of file is, and the command line that runs it ({path} is the file).
KINDS: Final = {
    ".lua": ("Lua script", "betbot run --script {path}"),
    ".toml": ("TOML preset", "betbot run --config {path}"),
    ".py": ("Python plug-in", "betbot run --strategy {path}:{cls}"),
}


@dataclass(frozen=True, slots=True)
class ShippedFile:
    path: Path
    kind: str
    summary: str
    command: str


def shipped_dir() -> Path | None:
    """Where the shipped strategy files are: the installed package's copy, else a clone's `strategies/`."""
    for candidate in (_PACKAGE_COPY, _CLONE_DIR):
        if candidate.is_dir():
            return candidate
    return None


def summary_of(path: Path) -> str:
    """The file's one-line summary: the first sentence of its opening comment (or a Python file's docstring),
    whole even when the comment wraps it over several lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    if path.suffix == ".py":
        try:
            doc = ast.get_docstring(ast.parse(text)) or ""
        except SyntaxError:
            return ""
        return _first_sentence(doc.strip().split("\n\n")[0].splitlines())
    marker = "--" if path.suffix == ".lua" else "#"
    paragraph: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(marker):
            if stripped or paragraph:
                break
            continue
        content = stripped[len(marker):].lstrip("-#")
        if not content.strip() or content.startswith("  "):  # a blank comment line, or an indented example
            break
        paragraph.append(content.strip())
    return _first_sentence(paragraph)


def _first_sentence(lines: list[str]) -> str:
    text = " ".join(line.strip() for line in lines if line.strip())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def _plugin_classes(path: Path) -> list[str]:
    """Classes of a Python file that derive from something named like a Strategy (read, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base) for base in node.bases]
            if any(base.endswith("Strategy") for base in bases):
                found.append(node.name)
    return found


def shipped_files(directory: Path | None = None) -> list[ShippedFile]:
    """Every strategy file in `directory` (default: the shipped one), by kind and then by name."""
    directory = directory if directory is not None else shipped_dir()
    if directory is None:
        return []
    files = []
    order = list(KINDS)
    for path in sorted(directory.iterdir(), key=lambda p: (order.index(p.suffix) if p.suffix in KINDS else 9,
                                                           p.name)):
        if not path.is_file() or path.suffix not in KINDS or path.name.startswith(("_", ".")):
            continue
        kind, template = KINDS[path.suffix]
        classes = _plugin_classes(path) if path.suffix == ".py" else []
        command = template.format(path=path, cls=classes[0] if classes else "ClassName")
        files.append(ShippedFile(path=path, kind=kind, summary=summary_of(path), command=command))
    return files


def find_shipped(name: str) -> Path | None:
    """The shipped file called `name` (with or without its suffix), or None."""
    directory = shipped_dir()
    if directory is None:
        return None
    for candidate in (directory / name, *(directory / f"{name}{suffix}" for suffix in KINDS)):
        if candidate.is_file() and candidate.parent == directory:
            return candidate
    return None
