"""Values from signed evidence, made safe to print on one line of a report or a terminal.

A device key signs whatever the camera (or whoever holds that key) put in a file name, a header's
meta or an audit event. Printed as it is, a newline in such a value could add a line that reads
like a verdict (``overall: OK``), and an escape sequence could rewrite what a terminal shows.
Every tool that prints evidence text (verify's lines and faults, export's report.txt and its
messages) passes it through :func:`printable`, and nothing else.
"""

from __future__ import annotations

import json

__all__ = ["finite", "printable"]


def printable(value: object) -> str:
    """``value`` as one line of printable text: a string that is printable as it is (no control,
    format, separator or unassigned character, nor a space other than U+0020) stays as it is;
    any other string is shown as a Python ``ascii()`` literal, quoted and escaped; any other
    value (parsed JSON) as ASCII JSON."""
    if isinstance(value, str):
        return value if value.isprintable() else ascii(value)
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=repr)


def finite(value: object) -> float | None:
    """``value`` as a float if it is a finite JSON number (not a bool, not NaN or infinite),
    else None: how a reader takes a number from JSON it cannot trust."""
    if type(value) not in (int, float):
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if number == number and abs(number) != float("inf") else None
