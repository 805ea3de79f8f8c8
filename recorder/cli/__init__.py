"""The ``bodycam`` command: one sub-command per module in this package.

Every sub-command module has ``add_parser(subparsers)`` and a ``run(args) -> int`` it sets as the
parser's default. Errors the user can fix (a bad path, a wrong key) are printed as one line that
says what was wrong, and give a documented non-zero exit code; they never end in a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import recorder
from recorder.cli import (
    console_cmds,
    daemon_cmds,
    evidence_cmds,
    key_cmds,
    offload_cmd,
    selftest_cmd,
    witness_cmds,
)
from recorder.evidence.errors import EvidenceError

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_PIPE = 141
"""stdout's reader went away (``bodycam ... | head``): 128 + SIGPIPE, as a shell reports a tool
that SIGPIPE ended."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bodycam",
        description="Open body-worn camera firmware: evidence anyone can verify.",
    )
    parser.add_argument("--version", action="version", version=f"bodycam {recorder.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    modules = (key_cmds, evidence_cmds, daemon_cmds, selftest_cmd, console_cmds)
    for module in (*modules, witness_cmds, offload_cmd):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        code = run(args)
        sys.stdout.flush()  # a reader that went away shows here, not as a report at exit
        return code
    except EvidenceError as e:
        print(f"bodycam {args.command}: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 4)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """Stop quietly when stdout's reader went away. Python would report the broken pipe again
    when it flushes stdout at exit, so stdout now leads nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
