"""``bodycam offload``: send the camera's finished evidence and cosigned checkpoints to S3 under
COMPLIANCE Object Lock (docs/offload.md). Run on the camera when it is docked.

Exit codes (sysexits where one fits): 0 every object is in the bucket, confirmed by HEAD;
1 some object failed (each is named; the rest were sent); 2 bad command line; 69
(EX_UNAVAILABLE) the store did not answer (run again: it resumes); 75 (EX_TEMPFAIL) another
offload of this camera is running; 78 (EX_CONFIG) bad configuration, no usable credentials, or
a bucket that is missing, refuses the credentials or has no Object Lock.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from recorder.cli.daemon_cmds import EX_CONFIG, EX_UNAVAILABLE, no_core_dumps
from recorder.cli.progress import Bar
from recorder.config import ConfigError, load
from recorder.evidence.audit import rfc3339
from recorder.logs import setup
from recorder.offload.credentials import load_credentials
from recorder.offload.errors import Busy, OffloadError, StoreUnavailable
from recorder.offload.offload import Result, Settings, offload
from recorder.offload.plan import Plan

EX_TEMPFAIL = 75
MAX_MBPS = 100_000.0


def _mbps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value == 0 or 0.1 <= value <= MAX_MBPS):
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be 0 (no cap) or a number of Mbit/s from 0.1 to {MAX_MBPS:.0f}"
        )
    return value


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "offload",
        help="send finished evidence to S3 under Object Lock (on the dock)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, default=Path("/etc/bodycam/bodycam.toml"), metavar="FILE")
    p.add_argument(
        "--limit-mbps",
        type=_mbps,
        metavar="MBIT/S",
        help="cap the upload's bandwidth (overrides offload.limit_mbps; 0: no cap)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    bar = Bar("offload", rate=True)
    setup(logging.WARNING if bar.enabled else logging.INFO)  # on a terminal, the bar says it
    try:
        config = load(args.config)
        settings = Settings.from_config(config, args.limit_mbps)
        path = config["offload"]["credentials_file"]
        no_core_dumps()  # before the secret is in memory
        credentials = load_credentials(Path(path) if path else None, os.environ)
    except (ConfigError, OffloadError) as e:
        print(f"bodycam offload: {e}", file=sys.stderr)
        return EX_CONFIG
    total = 0

    def started(plan: Plan) -> None:
        nonlocal total
        total = plan.total

    try:
        result = offload(
            settings,
            credentials,
            on_start=started,
            on_progress=lambda done: bar(done, total),
        )
    except StoreUnavailable as e:
        print(f"bodycam offload: {e}; run it again to resume", file=sys.stderr)
        return EX_UNAVAILABLE
    except Busy as e:
        print(f"bodycam offload: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    except OffloadError as e:
        print(f"bodycam offload: {e}", file=sys.stderr)
        return EX_CONFIG
    bar(total, total)
    _report(result, settings)
    return 0 if result.ok else 1


def _report(result: Result, settings: Settings) -> None:
    n = len(result.sent)
    sent, resumed = result.count("sent"), result.count("resumed")
    present, locked = result.count("present"), result.count("locked")
    print(
        f"offload: {n} object(s) confirmed in bucket {settings.bucket!r} under COMPLIANCE "
        f"retention: {sent} sent, {resumed} resumed, {present} already there, {locked} "
        f"locked; {result.bytes_sent} bytes sent"
    )
    w = result.witnessed
    if w is not None and settings.witness is not None:
        print(
            f"checkpoint: {w.size} files, cosigned by {settings.witness.name} at "
            f"{rfc3339(w.timestamp)}" + ("" if w.asked else " (cosigned before)")
        )
    for _, why in result.failed:
        print(f"FAILED {why}", file=sys.stderr)
    if result.failed:
        print(f"bodycam offload: {len(result.failed)} problem(s); see above", file=sys.stderr)
