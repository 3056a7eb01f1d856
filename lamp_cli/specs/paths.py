"""Field paths as users read and write them: ``spec.routes[1].path``, ``x["nvidia.com/gpu"]``."""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]
_SIMPLE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TOKEN_RE = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]')


def format_path(path: Sequence[str | int]) -> str:
    """Render a path; keys that are not identifiers are quoted in brackets."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY_RE.match(part):
            out += f".{part}" if out else part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


def parse_path(text: str) -> Path | None:
    """Parse what :func:`format_path` writes; ``None`` when ``text`` is not a path."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None or (match.group(0).startswith(".") and not parts):
            return None
        if match.group(1) is not None:
            if not match.group(0).startswith(".") and parts:
                return None
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(int(match.group(2)))
        else:
            parts.append(re.sub(r"\\(.)", r"\1", match.group(3)))
        position = match.end()
    return tuple(parts) if parts else None
