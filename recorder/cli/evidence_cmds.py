"""``bodycam verify`` and ``bodycam export``: the agency's and the public's tools."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.cli.progress import Bar
from recorder.evidence.audit import ENVELOPE
from recorder.evidence.chain import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    Report,
    verify_dir,
)
from recorder.evidence.checkpoint import Leaf
from recorder.evidence.errors import EvidenceError
from recorder.evidence.keys import key_id, load_agency_private, load_device_public, raw_public
from recorder.evidence.note import NoteError
from recorder.evidence.pinning import (
    Pinned,
    Witness,
    choose_listing,
    open_checkpoint,
    parse_listing,
    pin,
)
from recorder.evidence.reader import Verdict
from recorder.evidence.source import DirectorySource, Source
from recorder.evidence.text import printable
from recorder.export.exporter import ExportRefused, ExportReport, export, hole_summary

EXIT_NO_RECIPIENT = 5
EXIT_NOT_EXPORTED = 6


def _codes() -> str:
    return "exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())


Run = Callable[[argparse.Namespace], int]


def _guarded(run: Run) -> Run:
    """An unexpected exception is a bug, never a verdict: it must not exit with a code that
    means one (1 would read as "only power cuts"). It exits EXIT_INTERNAL, with the traceback
    on stderr for the bug report. Errors the user can fix (EvidenceError) pass on to ``main``."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (EvidenceError, KeyboardInterrupt, BrokenPipeError):
            raise  # main answers these: a clear error, 130, or a reader that left (141)
        except Exception as e:
            print(
                f"bodycam {args.command}: internal error, a bug in bodycam "
                f"({type(e).__name__}: {e}); no verdict was reached. Please report it with "
                "the traceback below.",
                file=sys.stderr,
            )
            traceback.print_exc(file=sys.stderr)
            return EXIT_INTERNAL

    return guarded


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="check an evidence directory with only the device's public key",
        description=(
            "Print one verdict line per audit log, segment, gap and reserved number, in signed "
            "sequence order. Needs no agency key; given one, it also opens the media segments "
            "and checks their contents as export does."
        ),
        epilog=_codes(),
    )
    _evidence_args(p)
    p.add_argument("--device-pub", type=Path, required=True, metavar="FILE")
    p.add_argument(
        "--agency-key",
        type=Path,
        metavar="FILE",
        help="also decrypt: check each media record's framing and FINAL summary",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a checkpoint the device signed and a witness cosigned: every file it covers must "
        "be here (repeatable); from a bucket, with --witness-pub, also every checkpoint under "
        "<key id>/log/",
    )
    p.add_argument(
        "--witness-pub",
        action="append",
        default=[],
        metavar="VKEY|FILE",
        help="a witness to trust: its key as it prints it (name+keyid+base64), or a file of it",
    )
    p.add_argument(
        "--listing",
        type=Path,
        metavar="FILE",
        help="the camera's listing of its log (tlog.leaves), to name each file a checkpoint "
        "covers; from a bucket, <key id>/log/leaves unless given",
    )
    p.add_argument("--json", action="store_true", help="one JSON document for scripts")
    p.set_defaults(run=_guarded(verify))

    p = sub.add_parser(
        "export",
        help="verify, decrypt and export MP4 files with a report",
        description=(
            "Verify EVIDENCE (a directory, or s3://BUCKET[/PREFIX][/KEY_ID]), then decrypt it "
            "with the agency key and write one MP4 per recording event, audit.jsonl, "
            "report.json and report.txt into OUT."
        ),
        epilog=_codes()
        + f"; {EXIT_NO_RECIPIENT} a recording was not exported: the agency key is not a "
        "recipient of one of its segments"
        + f"; {EXIT_NOT_EXPORTED} a recording with footage here could not be written as MP4 "
        "for another reason"
        + f"; when several apply, {EXIT_FAILED} wins over {EXIT_NO_RECIPIENT}, "
        f"{EXIT_NO_RECIPIENT} over {EXIT_NOT_EXPORTED}, and {EXIT_NOT_EXPORTED} over "
        "0, 1 and 4",
    )
    _evidence_args(p)
    p.add_argument("--agency-key", type=Path, required=True, metavar="FILE")
    p.add_argument("--device-pub", type=Path, required=True, metavar="FILE")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument(
        "--force",
        action="store_true",
        help="export what verifies even from tampered input; marks the report and file names",
    )
    p.set_defaults(run=_guarded(run_export))


def _evidence_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "evidence",
        metavar="EVIDENCE",
        help="the evidence directory, or s3://BUCKET[/PREFIX][/KEY_ID] (read straight from "
        "the bucket offload sends to; KEY_ID defaults to --device-pub's)",
    )
    s3 = p.add_argument_group("from a bucket (s3://...)")
    s3.add_argument(
        "--endpoint",
        metavar="URL",
        help="the S3 store, http(s)://HOST[:PORT] (default: $BODYCAM_S3_ENDPOINT, else AWS S3)",
    )
    s3.add_argument(
        "--region", help="default: $BODYCAM_S3_REGION, else $AWS_REGION, else us-east-1"
    )
    s3.add_argument(
        "--credentials-file",
        type=Path,
        metavar="FILE",
        help="AWS shared credentials file, [default] profile, mode 0600 (default: "
        "$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY)",
    )


class UsageError(EvidenceError):
    exit_code = EXIT_USAGE


class NoEvidenceDir(EvidenceError):
    exit_code = EXIT_UNREADABLE


def _is_bucket(args: argparse.Namespace) -> bool:
    """Whether EVIDENCE is an s3:// URL (its grammar checked here, before any key is read)."""
    from recorder.bucket.url import SCHEME, parse_url

    if not args.evidence.startswith(SCHEME):
        given = [o for o in ("endpoint", "region", "credentials_file") if getattr(args, o)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UsageError(f"{flag} is for evidence in a bucket (s3://...), not a directory")
        if not Path(args.evidence).is_dir():
            raise NoEvidenceDir(f"{args.evidence}: not a directory (give the evidence directory)")
        return False
    parse_url(args.evidence)
    return True


def _source(args: argparse.Namespace, pub: Ed25519PublicKey) -> Source:
    """Where the evidence is: the directory, or the device's prefix in the bucket (the bucket's
    client imported only then)."""
    if not args.evidence.startswith("s3://"):
        return DirectorySource(Path(args.evidence))
    from recorder.bucket.source import Store, open_bucket
    from recorder.bucket.url import parse_url

    store = Store.of(args.endpoint, args.region, args.credentials_file, os.environ)
    return open_bucket(parse_url(args.evidence), key_id(raw_public(pub)).hex(), store)


def _faults(report: Report) -> list[dict[str, Any]]:
    """The ``fault`` events of the verified audit records: what the camera said went wrong."""
    return [e for c in report.checks for e in c.events if e.get("event") == "fault"]


def _fault_line(e: dict[str, Any]) -> str:
    """One fault event as a line: every value is signed data, so each is escaped (a newline
    in one could otherwise print a line of its own, such as ``overall: OK``)."""
    rest = {k: v for k, v in e.items() if k not in ENVELOPE and k != "what"}
    details = ", ".join(f"{printable(k)}={printable(v)}" for k, v in rest.items())
    wall, what = printable(e.get("wall", "?")), printable(e.get("what", "?"))
    return f"  {wall}  {what}" + (f" ({details})" if details else "")


def verify(args: argparse.Namespace) -> int:
    _is_bucket(args)
    pub = load_device_public(args.device_pub)
    identity = load_agency_private(args.agency_key) if args.agency_key else None
    source = _source(args, pub)
    pins, listing, unused = _pins(args, pub, source)  # a bad one refused before any reading
    report = pin(verify_dir(source, pub, identity=identity), pins, listing)
    faults = _faults(report)
    unpinned = "" if pins else "the newest end is not pinned: no cosigned checkpoint was given"
    if unpinned and unused:
        unpinned += ", or usable in the bucket"
    if args.json:
        doc = {**report.to_json(), "faults": faults, "unpinned": unpinned}
        doc["not_used"] = [{"file": f, "reason": r} for f, r in unused]
        print(json.dumps(doc, indent=2))
    else:
        for line in report.lines:
            print(line)
        if not report.lines:
            print(source.nothing_here())
        if faults:
            print(f"faults the camera logged ({len(faults)}):")
            for e in faults:
                print(_fault_line(e))
        for name, why in unused:
            print(f"not used: {printable(name)} ({printable(why)})")
        if unpinned and report.lines:
            print(unpinned)
        print(f"overall: {report.worst}" if report.lines else "overall: nothing to verify")
    return report.exit_code


class InputRefused(EvidenceError):
    """A checkpoint, witness key or listing given to verify could not be read or used."""

    exit_code = EXIT_UNREADABLE


def _pins(
    args: argparse.Namespace, pub: Ed25519PublicKey, source: Source
) -> tuple[list[Pinned], list[Leaf] | None, list[tuple[str, str]]]:
    """The checkpoints, the witnesses and the listing verify was given, each checked; a bad
    one is a usage error naming the file and what is wrong. Then what the source holds of the
    camera's log (a bucket: its checkpoints when a witness is given, and of its listing's
    versions the longest the checkpoints agree with): each there that cannot be used is
    returned with why (the third item), and leaves the verdict to the rest, as if it were not
    there."""
    try:
        witnesses = [Witness.from_vkey(_vkey_text(w)) for w in args.witness_pub]
        pins = [open_checkpoint(_read(f), pub, witnesses) for f in args.checkpoint]
        listing = parse_listing(_read(args.listing)) if args.listing else None
    except (NoteError, ValueError) as e:
        raise InputRefused(str(e)) from None
    unused: list[tuple[str, str]] = []
    for name, data in source.checkpoints():
        if not witnesses:
            unused.append((name, "give --witness-pub to use a checkpoint from the bucket"))
            continue
        try:
            pins.append(open_checkpoint(data, pub, witnesses))
        except (NoteError, ValueError) as e:
            unused.append((name, str(e)))
    if listing is None:
        listing, versions_unused = choose_listing(pins, source.listings())
        unused += versions_unused
    return pins, listing, unused


def _vkey_text(arg: str) -> str:
    """A witness key given inline, or the path of a file that holds it."""
    if "+" in arg and not Path(arg).exists():
        return arg
    return _read(Path(arg)).decode("utf-8", "replace").strip()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputRefused(f"{path}: cannot read: {e.strerror or e}") from None


def run_export(args: argparse.Namespace) -> int:
    _is_bucket(args)
    pub = load_device_public(args.device_pub)
    identity = load_agency_private(args.agency_key)
    source = _source(args, pub)
    try:
        result = export(source, identity, pub, args.out, force=args.force, progress=Bar("export"))
    except ExportRefused as e:
        print(f"bodycam export: {e}", file=sys.stderr)
        return EXIT_UNREADABLE if e.report.worst is Verdict.UNREADABLE else 3
    for o in result.outputs:
        if "file" in o:
            name = printable(o["file"])
            print(f"{o['verdict']:<10} {name}  {o['frames']} frames, {o['duration_s']:.1f} s")
        else:
            rid, error = printable(o["recording_id"]), printable(o["error"])
            print(f"{o['verdict']:<10} recording {rid}: {error}")
        for h in o["holes"]:
            print(f"{'':<10} {hole_summary(h)}")
    for h in (u.to_json() for u in result.unattributed):
        print(f"MISSING    {hole_summary(h)}: tied to no recording")
    print(f"report: {args.out / 'report.txt'} and report.json")
    if result.failed:
        print(
            f"bodycam export: {len(result.failed)} recording(s) not exported: "
            + ", ".join(map(printable, result.failed)),
            file=sys.stderr,
        )
    return export_exit_code(result)


def export_exit_code(result: ExportReport) -> int:
    """A forced export's code: tampering (3) first, whatever else went wrong, so that no code
    reads as less than the verdict; then 5 (a recording not exported because the agency key is
    not a recipient of one of its segments), then 6 (a recording not exported for another
    reason, such as no keyframe), then the verification's own 0, 1 or 4."""
    code = result.verification.exit_code
    if code == EXIT_FAILED:
        return code
    if result.undecryptable:
        return EXIT_NO_RECIPIENT
    if result.failed:
        return EXIT_NOT_EXPORTED
    return code
