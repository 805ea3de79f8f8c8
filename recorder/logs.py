"""Logging to stderr with syslog level prefixes (``<3>`` ...), so journald keeps the levels."""

from __future__ import annotations

import logging
import sys

__all__ = ["setup"]

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class SyslogPrefixFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6)
        return f"<{prio}>{record.name}: {super().format(record)}"


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SyslogPrefixFormatter("%(message)s"))
    root = logging.getLogger("bodycam")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
