"""Bench the case report: what building report.html (thumbnails included) costs, against the
export's own time, for the demo's patrol (``make demo``'s camera and scenario)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from recorder.bench.camera import provisioned
from recorder.bench.common import cpu_median
from recorder.daemon import Daemon
from recorder.evidence.keys import load_agency_private, load_device_public
from recorder.export.exporter import export
from recorder.export.report import _ENV, write_html

PATROL = Path(__file__).parents[2] / "sim" / "scenarios" / "patrol.toml"
_DEMO = {  # scripts/demo's bodycam.toml (its device id and officer change no cost)
    "video": {"width": 1280, "height": 720, "fps": 30, "bitrate": 2_000_000},
    "recording": {"pre_event_s": 30, "segment_s": 60},
}
REPEATS = 3


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

        def compile_template() -> None:  # what each new process pays once
            fresh = _ENV.overlay()
            fresh.cache = None
            fresh.get_template("report.html.j2")

        user_tpl, sys_tpl = cpu_median(compile_template, REPEATS)
        thumbs = (out / "report.html").read_text().count("data:image/jpeg;base64,")
        seconds = sum(o.get("duration_s", 0) for o in doc["outputs"])
    own = (user_all + sys_all) - (user_rep + sys_rep)
    report = user_rep + sys_rep
    cold = report + user_tpl + sys_tpl
    return [
        (
            "export",
            f"{len(doc['outputs'])} recordings, {seconds:.0f} s of 1280x720 at 2 Mbit/s: "
            f"{own:.3f} s CPU without the report",
        ),
        ("report.html", f"{report:.3f} s CPU ({thumbs} thumbnails), template already compiled"),
        ("its template's compilation", f"{user_tpl + sys_tpl:.3f} s CPU, once per process"),
        (
            "report.html / the export's own time",
            f"{report / own:.1%} warm, {cold / own:.1%} as `bodycam export` pays it  (goal <= 10%)",
        ),
    ]
