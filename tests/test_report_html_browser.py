"""report.html in a real browser: Debian's headless Chromium renders the report of a real export
(a simulated camera's patrol with a marker, a mute, stealth and a microphone unplugged, once for
two seconds and once through a whole recording) to its DOM, a screenshot and a PDF, and poppler's
pdftoppm turns the PDF into pictures.

Chromium runs as root in CI, so it runs with --no-sandbox (its sandbox needs an unprivileged
user), in a fresh profile directory per run, in its own process group, which is killed by its id
if it has not finished in time. Where Chromium or pdftoppm is missing, scripts/install-tools
installs them (`make test` runs it); these tests fail rather than skip without them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from recorder.cli import main
from tests.simdevice import SimDevice, scenario

pytestmark = pytest.mark.slow

BROWSER_TIMEOUT_S = 20


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/install-tools (make test does)"
    return path


def chromium(
    args: list[str], timeout: float = BROWSER_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium once, in a temporary profile; kill its process group on timeout."""
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        cmd = [
            _tool("chromium"),
            "--headless=new",
            "--no-sandbox",  # root in CI: Chromium's sandbox refuses to run as root
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its group: the browser and its children
            proc.communicate()
            raise AssertionError(f"chromium took more than {timeout} s: {cmd}") from None
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@dataclass
class Export:
    out: Path
    report: dict[str, Any]

    @property
    def html(self) -> Path:
        return self.out / "report.html"


PATROL = """
[[step]]
at = 4.0
do = "hold"
input = "stealth"
seconds = 0.2
[[step]]
at = 10.0
do = "press"
input = "record"
[[step]]
at = 10.2
do = "release"
input = "record"
[[step]]
at = 18.0
do = "hold"
input = "marker"
seconds = 0.2
[[step]]
at = 22.0
do = "hold"
input = "mute"
seconds = 0.2
[[step]]
at = 30.0
do = "hold"
input = "mute"
seconds = 0.2
[[step]]
at = 33.0
do = "hold"
input = "stealth"
seconds = 0.2
[[step]]
at = 35.0
do = "mic_fail"
error = "missing"
seconds = 2.0
[[step]]
at = 40.0
do = "hold"
input = "record"
seconds = 3.5
[[step]]
at = 46.0
do = "mic_fail"
error = "missing"
seconds = 24.0
[[step]]
at = 50.0
do = "press"
input = "record"
[[step]]
at = 50.2
do = "release"
input = "record"
[[step]]
at = 55.0
do = "hold"
input = "marker"
seconds = 0.2
[[step]]
at = 62.0
do = "hold"
input = "record"
seconds = 3.5
"""


def _export(cam: SimDevice, evidence: Path, out: Path, force: bool) -> Export:
    main(
        [
            "export",
            str(evidence),
            "--agency-key",
            str(cam.root / "keys" / "agency.key"),
            "--device-pub",
            str(cam.root / "state" / "device.pub"),
            "--out",
            str(out),
            *(["--force"] if force else []),
        ]
    )
    return Export(out, json.loads((out / "report.json").read_text()))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Export, Export]:
    """A clean export of a patrol, and a forced one of the same evidence with segment #2
    deleted."""
    root = tmp_path_factory.mktemp("report")
    cam = SimDevice.provision(root / "cam")
    cam.run(scenario(root / "patrol.toml", 70, PATROL))
    clean = _export(cam, cam.evidence, root / "clean", force=False)
    damaged = root / "damaged"
    shutil.copytree(cam.evidence, damaged)
    (damaged / "segment-00000002.bcam").unlink()
    forced = _export(cam, damaged, root / "forced", force=True)
    assert forced.report["forced"] and forced.report["outputs"][0]["holes"]
    return clean, forced


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _Dom(HTMLParser):
    """What the test reads from the browser's DOM: elements by class, img sources, every
    URL-bearing attribute, the title, and each recording's thumbnail captions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.classes: dict[str, int] = {}
        self.imgs: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.title = ""
        self._in: list[str] = []
        self.recordings: list[str] = []
        self.in_recording: list[dict[str, int]] = []
        """Each recording's section: its elements by class."""
        self._section: dict[str, int] | None = None
        self.captions: list[list[str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            recording = "recording" in a.get("class", "").split()
            self._section = {} if recording else None
            if self._section is not None:
                self.in_recording.append(self._section)
        for c in a.get("class", "").split():
            self.classes[c] = self.classes.get(c, 0) + 1
            if self._section is not None:
                self._section[c] = self._section.get(c, 0) + 1
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        for k, v in a.items():
            if k in ("src", "href", "xlink:href", "action", "poster", "srcset", "data"):
                self.urls.append((tag, k, v))
            if k == "style" and "url(" in v:
                self.urls.append((tag, k, v))
        if "recording" in a.get("class", "").split():
            self.recordings.append(a.get("data-recording-id", ""))
            self.captions.append([])
        if tag == "figcaption":
            self.captions[-1].append("")
        if tag not in _VOID:
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.title += data
        if self._in and self._in[-1] == "style" and "url(" in data:
            self.urls.append(("style", "", data))
        if "figcaption" in self._in:
            self.captions[-1][-1] += data
        self.text.append(data)


def _dom(path: Path) -> _Dom:
    dom = _Dom()
    dom.feed(chromium(["--dump-dom", path.as_uri()]).stdout.decode())
    return dom


def _jpeg(uri: str) -> tuple[int, int]:
    """Decode a data: URI's JPEG with FFmpeg's decoder: its size."""
    head, _, data = uri.partition(",")
    assert head == "data:image/jpeg;base64", head
    blob = base64.b64decode(data, validate=True)
    assert blob[:2] == b"\xff\xd8" and blob[-2:] == b"\xff\xd9"
    frames = av.CodecContext.create("mjpeg", "r").decode(av.Packet(blob))
    assert len(frames) == 1
    return frames[0].width, frames[0].height


def test_every_recording_hole_and_marker_is_in_the_dom_and_thumbnails_decode(
    exports: tuple[Export, Export],
) -> None:
    for export in exports:
        dom = _dom(export.html)
        outputs = export.report["outputs"]
        assert dom.recordings == [o["recording_id"] for o in outputs]
        holes = sum(len(o["holes"]) for o in outputs)
        assert dom.classes.get("hole", 0) == 2 * holes  # its drawing and its line in the table
        text = " ".join(dom.text)
        for o in outputs:
            for h in o["holes"]:
                at, until = h["in_file_s"]
                assert f"{at:.1f}-{until:.1f} s in the file" in text
        assert dom.classes["marker"] == 2  # one per recording, from the audit log
        assert dom.classes["mark-marker"] == 2  # and on each timeline
        # mute and stealth on their lanes; mute's row is the sound's (below)
        assert dom.classes["mute"] >= 1 and dom.classes["stealth"] >= 2
        assert dom.classes.get("at-marker") == 2  # a thumbnail at each marker
        assert len(dom.imgs) == sum(len(c) for c in dom.captions)
        for uri in dom.imgs:
            assert _jpeg(uri)[0] == 320
        assert "no location recorded" in text  # the sim records no fixes


def _shown(captions: list[str]) -> set[str]:
    """What the thumbnails of one recording show: "trigger: 5 s<wall>" and "segment #2 OK,
    marker 1: 12 s<wall>" give trigger, segment #2 and marker 1."""
    whats = {w for c in captions for w in c.split(": ")[0].split(", ")}
    return {w.rsplit(" ", 1)[0] if w.startswith("segment #") else w for w in whats}


def test_a_thumbnail_shows_each_trigger_marker_switch_segment_and_hole(
    exports: tuple[Export, Export],
) -> None:
    for export in exports:
        dom = _dom(export.html)
        outputs = export.report["outputs"]
        assert len(dom.captions) == len(outputs) == 2
        for o, captions in zip(outputs, dom.captions, strict=True):
            shown = _shown(captions)
            assert {"trigger", "marker 1"} <= shown
            assert {f"segment #{seq}" for seq, _, _ in o["segment_pts_us"]} <= shown
            assert ("end before the hole" in shown) == bool(o["holes"])
        # the first recording started with stealth on; then mute on, off, and stealth off
        assert {"muted", "unmuted", "stealth off"} <= _shown(dom.captions[0])
        assert not {"muted", "unmuted", "stealth on", "stealth off"} & _shown(dom.captions[1])


SOUND_FILLS = {  # the template's fills on the sound lane, each its own colour
    "sound": (143, 207, 192),
    "muted": (47, 47, 47),
    "no sound, by policy": (226, 226, 226),
    "no sound": (245, 166, 35),
    "a hole (no pictures either)": (208, 0, 0),
}


def _longest_run(picture: Any, rgb: tuple[int, int, int]) -> int:
    """The longest row of pixels of exactly ``rgb`` in a picture."""
    same = (picture == np.array(rgb, dtype=np.uint8)).all(axis=-1).astype(np.int8)
    edges = np.diff(np.pad(same, ((0, 0), (1, 1))), axis=1)
    starts, ends = np.nonzero(edges == 1), np.nonzero(edges == -1)
    return int((ends[1] - starts[1]).max()) if starts[1].size else 0


def test_each_span_with_no_sound_and_each_mute_is_drawn_and_said_with_its_reason(
    exports: tuple[Export, Export], tmp_path: Path
) -> None:
    for export in exports:
        dom = _dom(export.html)
        text = re.sub(r"\s+", " ", " ".join(dom.text))
        first, second = dom.in_recording
        # Recording 1: no sound before the trigger (by policy), then muted, then the microphone
        # unplugged for 2 s: each on the timeline's sound lane and a row of its table.
        assert first["sound-line"] == second["sound-line"] == 1
        assert first["snd-policy"] == first["snd-muted"] == first["snd-gap"] == 1
        assert first["snd-row-policy"] == first["snd-row-muted"] == 1
        assert first["snd-row-lost"] == 1 + first.get("snd-hole", 0)
        assert "nosound" not in first and first["snd-on"] == 1
        # Recording 2: the microphone unplugged through it: no sound at all, said prominently.
        assert second["snd-none"] == second["nosound"] == 1 and "snd-on" not in second
        assert "no sound before the trigger: pre-event audio is off by policy" in text
        assert "muted: digital silence, by the officer" in text
        unplugged = '"microphone: no such device (simulated: unplugged)" (fault at '
        # each span's on the lane (its title) and in a row; and recording 2's in its banner
        assert text.count(f"the microphone failed: {unplugged}") == 2 + 2 + 1
        assert "This recording has no sound at all: no audio packet recorded" in text
    _, forced = exports
    assert _dom(forced.html).in_recording[0]["snd-hole"] == 1  # segment #2 deleted
    # and each is there to see, in its own colour, wider than the key's swatches (22 px)
    for export in exports:
        shot = tmp_path / f"{export.out.name}.png"
        chromium([f"--screenshot={shot}", "--window-size=1200,7000", export.html.as_uri()])
        with av.open(str(shot)) as c:
            picture = next(c.decode(video=0)).to_ndarray(format="rgb24")
        runs = {what: _longest_run(picture, rgb) for what, rgb in SOUND_FILLS.items()}
        holes = bool(export.report["outputs"][0]["holes"])
        assert all(n > 40 for what, n in runs.items() if what != "a hole (no pictures either)")
        assert (runs["a hole (no pictures either)"] > 40) == holes, runs


def test_the_page_makes_no_network_request(exports: tuple[Export, Export], tmp_path: Path) -> None:
    clean, _ = exports
    dom = _dom(clean.html)
    assert all(v.startswith("data:image/jpeg;base64,") for _, _, v in dom.urls), dom.urls
    html = clean.html.read_text()
    assert re.search(
        r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;", html
    )

    def page_requests(path: Path) -> list[str]:
        log = tmp_path / f"{path.stem}.netlog.json"
        chromium([f"--log-net-log={log}", "--dump-dom", path.as_uri()])
        netlog = json.loads(log.read_text())
        names = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
        starts = [
            e["params"]
            for e in netlog["events"]
            if names[e["type"]] == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})
        ]
        # the browser's own background requests have no origin; the page's have one
        return [p["url"] for p in starts if p.get("initiator") != "not an origin"]

    assert page_requests(clean.html) == []
    # the same check sees a request when a page makes one (no CSP, one remote image)
    control = tmp_path / "control.html"
    control.write_text(
        re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html).replace(
            "<body>", '<body><img src="http://192.0.2.1/x.png">'
        )
    )
    assert page_requests(control) == ["http://192.0.2.1/x.png"]


def test_a_forced_export_says_forced_in_its_title_and_on_every_recording(
    exports: tuple[Export, Export],
) -> None:
    clean, forced = exports
    dom = _dom(forced.html)
    assert "FORCED" in dom.title
    assert dom.classes["forced"] == 1 + len(forced.report["outputs"])
    assert "FORCED" not in _dom(clean.html).title


def test_it_renders_to_a_screenshot_and_prints_to_pdf(
    exports: tuple[Export, Export], tmp_path: Path
) -> None:
    _, forced = exports
    shot, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    chromium([f"--screenshot={shot}", "--window-size=1200,1600", forced.html.as_uri()])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", forced.html.as_uri()])
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(
        [_tool("pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    # the case-level page, then each recording from a new page, then the audit log
    assert len(pages) >= 2 + len(forced.report["outputs"])
    for page in pages:  # white paper, not a dark background: the corner pixel is white
        with av.open(str(page)) as c:
            frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
        assert frame[2, 2].tolist() == [255, 255, 255], page
        # and the red of a hole or of FORCED prints (print-color-adjust: exact)
    reds = 0
    for page in pages:
        with av.open(str(page)) as c:
            frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
        reds += int(((frame[..., 0] > 180) & (frame[..., 1] < 60) & (frame[..., 2] < 60)).sum())
    assert reds > 100
