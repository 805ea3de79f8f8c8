"""The JSON objects inside the format (header meta, FINAL summaries, audit events), parsed so that
any bytes, however hostile, end in a :class:`FormatError` naming what was wrong (reader MUST 2).

Signed content can still be hostile: whoever holds a device key can sign JSON nested thousands
deep, numbers of thousands of digits, or ``NaN``. Python's parser answers those with
``RecursionError`` or ``ValueError``; they become FormatError here. Nesting is capped at
:data:`MAX_DEPTH`, far above anything a camera writes, so that a parsed object can also be
written out again (the export's report and ``audit.jsonl``) without exhausting the stack.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from recorder.evidence.errors import FormatError

__all__ = ["MAX_DEPTH", "loads_object"]

MAX_DEPTH = 32


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _depth(obj: Any) -> int:
    """How deep ``obj`` nests (a scalar is 0, ``{}`` is 1), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def loads_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse ``data`` as one UTF-8 JSON object nested at most :data:`MAX_DEPTH` deep."""
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise FormatError(f"{what} nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # also UnicodeDecodeError, JSONDecodeError, too many digits
        raise FormatError(f"{what} is not UTF-8 JSON: {e}") from None
    if not isinstance(obj, dict):
        raise FormatError(f"{what} is not a JSON object")
    if _depth(obj) > MAX_DEPTH:
        raise FormatError(f"{what} nests deeper than {MAX_DEPTH} levels")
    return obj
