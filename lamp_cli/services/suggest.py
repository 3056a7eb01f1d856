"""'Did you mean': the existing names closest to a mistyped one, for not-found hints."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

from lamp_cli.errors import LampError


def closest(name: str, existing: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` names of ``existing`` that look like ``name``, closest first (case is
    ignored in the comparison, kept in the answer)."""
    by_lower: dict[str, str] = {}
    for item in existing:
        by_lower.setdefault(item.lower(), item)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=limit, cutoff=0.6)
    return [by_lower[match] for match in found]


def did_you_mean(name: str, listing: Callable[[], Iterable[str]], *, form: str = "'{}'") -> str:
    """``did you mean 'a' or 'b'? `` for the names ``listing()`` returns, or ``""``: never a
    reason to fail, so a listing that fails suggests nothing."""
    try:
        found = closest(name, listing())
    except LampError:
        return ""
    if not found:
        return ""
    shown = [form.format(item) for item in found]
    words = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" or {shown[-1]}"
    return f"did you mean {words}? "
