"""Kubernetes resource quantities, parsed to exact numbers so they can be compared.

A pattern match alone would accept ``2Gi`` and ``2000Mi`` but could not tell which is larger, and
would miss that ``2 GB`` is not a quantity at all. The grammar is the one of
``k8s.io/apimachinery/pkg/api/resource``: a signed decimal number followed by a binary suffix
(``Ki`` .. ``Ei``), a decimal suffix (``n u m "" k M G T P E``) or a decimal exponent (``e3``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY_RE = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]{1,3})?$"
)
# Offered in the JSON Schema so editors flag a typo while typing; the parser stays the authority.
QUANTITY_PATTERN = _QUANTITY_RE.pattern
_SUGGEST = {"GB": "Gi", "MB": "Mi", "KB": "Ki", "TB": "Ti", "G": "Gi", "Gb": "Gi", "Mb": "Mi"}


@dataclass(frozen=True, order=False)
class Quantity:
    """A parsed quantity: the text as written and its exact value in base units."""

    text: str
    value: Decimal

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def __gt__(self, other: Quantity) -> bool:
        return self.value > other.value

    def __ge__(self, other: Quantity) -> bool:
        return self.value >= other.value

    @property
    def is_integer(self) -> bool:
        return self.value == self.value.to_integral_value()

    def __str__(self) -> str:
        return self.text


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity; the message says how to write one."""


def parse_quantity(text: str) -> Quantity:
    """Parse ``text`` (``500m``, ``2Gi``, ``1.5``, ``1e3``) or raise :class:`QuantityError`."""
    if not isinstance(text, str):
        raise QuantityError(f"must be a Kubernetes quantity such as 500m or 2Gi (got {text!r})")
    match = _QUANTITY_RE.match(text)
    if match is None:
        raise QuantityError(_explain(text))
    try:
        number = Decimal(match["number"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise QuantityError(_explain(text)) from exc
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        value = number * _BINARY[suffix]
    elif suffix in _DECIMAL:
        value = number * _DECIMAL[suffix]
    else:
        value = number.scaleb(int(suffix[1:]))
    return Quantity(text=text, value=value)


def _explain(text: str) -> str:
    shown = text if len(text) <= 40 else text[:39] + "…"
    hint = "use e.g. 500m or 2 for cpu, 512Mi or 2Gi for memory"
    compact = text.replace(" ", "")
    number = re.match(r"^[+-]?[0-9.]+", compact)
    if number is not None:
        unit = compact[number.end() :]
        if unit in _SUGGEST:
            hint = f"write {number.group()}{_SUGGEST[unit]}"
    return f"not a Kubernetes quantity (got {shown!r}); {hint}"
