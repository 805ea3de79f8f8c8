"""report.html: the export's case report for people, one self-contained HTML file.

It is made from the same document as report.json (the verdicts, the recordings, their holes and
the hashes), the verified audit events the export wrote to audit.jsonl, and the exported MP4s
(thumbnails). It needs nothing else to be read: its pictures are ``data:`` URIs, its timelines
and routes inline SVG, its style inline, and a Content-Security-Policy forbids it to load
anything, so it opens from a USB stick on a machine with no network, and prints for a court
bundle.

Every string in it that comes from evidence (a device or officer id, a file name, an audit
field, a reason that quotes one) is untrusted: the Jinja2 environment escapes everything it
puts in the page (autoescape), and the report adds no markup from data.

The modules: ``page`` builds the page (``template`` is its Jinja2 environment and template,
``_compiled`` that template compiled to Python), ``timeline`` and ``route`` what it draws,
``sound`` what it says of each recording's sound (from report.json's ``audio``), ``moments``
which moments get a thumbnail and ``thumbnails`` the pictures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_html"]


def write_html(doc: dict[str, Any], out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` for the export report ``doc`` (report.json's document)."""
    # Imported here, not above: every bodycam command imports the exporter, and Jinja2 and the
    # page's modules cost a command that writes no report about 50 ms of CPU for nothing.
    from recorder.export.report.page import write_html as write

    return write(doc, out_dir)
