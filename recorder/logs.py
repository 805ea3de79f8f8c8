"""Logging to stderr with syslog level prefixes (``<3>`` ...), so journald keeps the levels.

Three logger trees are the firmware's own: ``bodycam.*`` (the recorder, daemon and console),
``hal.*`` (the hardware backends) and ``sim.*`` (the simulator, its scenario steps included).
Each gets the same handler; the root logger, and so every library's, is left alone.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGERS", "setup"]

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


LOGGERS: tuple[str, ...] = ("bodycam", "hal", "sim")


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SyslogPrefixFormatter("%(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
