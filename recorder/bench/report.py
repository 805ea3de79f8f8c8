"""Bench the case report: what report.html costs an export, against the export's own CPU time,
for the demo's patrol (``make demo``'s camera and scenario).

``bodycam export`` is one process per export, so both are measured as that process pays for
them: in a fresh process, the export imports its modules and exports (everything the command
does after it has parsed its arguments), and the report's share is its write of report.html,
which imports Jinja2 and the report's modules, loads its template, makes the thumbnails and
writes the page. An installed bodycam's modules are byte-compiled (pip and dh_python3 do it at
install), so the fresh processes load theirs from byte code too, from a temporary
PYTHONPYCACHEPREFIX that a first process, not counted, fills. For comparison, the export is
also measured again and again in this process, where its modules are loaded and report.html's
template is compiled once and for all: the export's own time there leaves its imports out.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from recorder.bench.camera import provisioned
from recorder.bench.common import cpu_median
from recorder.daemon import Daemon
from recorder.evidence.keys import load_agency_private, load_device_public
from recorder.export.exporter import export
from recorder.export.report import write_html
from recorder.export.report.template import ENV, NAME

PATROL = Path(__file__).parents[2] / "sim" / "scenarios" / "patrol.toml"
_DEMO = {  # scripts/demo's bodycam.toml (its device id and officer change no cost)
    "video": {"width": 1280, "height": 720, "fps": 30, "bitrate": 2_000_000},
    "recording": {"pre_event_s": 30, "segment_s": 60},
}
REPEATS = 5  # fresh processes vary more than runs in one: the medians of five
_FRESH_EXPORT = """
import json, resource, sys
from pathlib import Path

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

t0 = cpu()
import recorder.export.exporter as exporter
from recorder.evidence.keys import load_agency_private, load_device_public

write_html, spent = exporter.write_html, {}

def timed(doc, out_dir):  # the report's share, within the export
    t1 = cpu()
    from recorder.export.report.template import report_template
    import recorder.export.report.page
    report_template()
    t2 = cpu()
    path = write_html(doc, out_dir)
    spent.update(load=t2 - t1, write=cpu() - t2)
    return path

exporter.write_html = timed
ev, agency, device, out = map(Path, sys.argv[1:])
exporter.export(ev, load_agency_private(agency), load_device_public(device), out)
print(json.dumps(dict(spent, whole=cpu() - t0)))
"""


def fresh_export(ev: Path, agency: Path, device: Path, out: Path) -> dict[str, float]:
    """Median CPU seconds of an export in a fresh process: ``whole`` (its imports and the export,
    report.html included), ``load`` (report.html's imports and template) and ``write`` (the
    rest of report.html)."""
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-pyc-") as pyc:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pyc
        runs = []
        for _ in range(REPEATS + 1):  # the first writes the byte code
            done = subprocess.run(
                [sys.executable, "-c", _FRESH_EXPORT, *map(str, (ev, agency, device, out))],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
            runs.append(json.loads(done.stdout))
    return {k: statistics.median(r[k] for r in runs[1:]) for k in runs[0]}


def bench_report() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bodycam-bench-report-") as tmp:
        root = Path(tmp)
        cfg = provisioned(root, **_DEMO)
        Daemon(cfg).run(PATROL)
        identity = load_agency_private(root / "keys" / "agency.key")
        device_pub = load_device_public(cfg.state_dir / "device.pub")
        out = root / "export"

        def whole_export() -> None:  # report.html included
            export(root / "ev", identity, device_pub, out)

        user_all, sys_all = cpu_median(whole_export, REPEATS)
        doc = json.loads((out / "report.json").read_text())
        user_rep, sys_rep = cpu_median(lambda: write_html(doc, out), REPEATS)

        def compile_template() -> None:  # what a fresh process pays when _compiled is stale
            fresh = ENV.overlay()
            fresh.cache = None
            fresh.get_template(NAME)

        user_tpl, sys_tpl = cpu_median(compile_template, REPEATS)
        fresh = fresh_export(
            root / "ev", root / "keys" / "agency.key", cfg.state_dir / "device.pub", out
        )
        thumbs = (out / "report.html").read_text().count("data:image/jpeg;base64,")
        seconds = sum(o.get("duration_s", 0) for o in doc["outputs"])
    own = (user_all + sys_all) - (user_rep + sys_rep)
    warm = user_rep + sys_rep
    load, write = fresh["load"], fresh["write"]
    cold = load + write
    own_fresh = fresh["whole"] - cold
    return [
        (
            "export",
            f"{len(doc['outputs'])} recordings, {seconds:.0f} s of 1280x720 at 2 Mbit/s: "
            f"{own_fresh:.3f} s CPU in a fresh process without the report (its imports "
            f"included), {own:.3f} s in a process that has exported before",
        ),
        (
            "report.html, as `bodycam export` pays it",
            f"{cold:.3f} s CPU in a fresh process: {load:.3f} s importing Jinja2 and the "
            f"report's modules and loading its compiled template, {write:.3f} s writing the "
            f"page ({thumbs} thumbnails); {warm:.3f} s written again",
        ),
        (
            "its template compiled from source",
            f"{user_tpl + sys_tpl:.3f} s CPU, what a fresh process pays instead while "
            "_compiled.py is not current",
        ),
        (
            "report.html / the export's own time",
            f"{cold / own_fresh:.1%} in a fresh process, as `bodycam export` pays both (goal "
            f"<= 10%); {cold / own:.1%} against the export without its imports; "
            f"{warm / own:.1%} written again",
        ),
    ]


if __name__ == "__main__":
    for what, figure in bench_report():
        print(f"{what}: {figure}")
