"""report.html's Jinja2 environment and its template, loaded compiled.

Jinja2 compiles a template to Python before it renders it: for ``templates/report.html.j2``
that costs about 0.13 s of CPU, which every ``bodycam export`` (one process per export) would
pay again. So the template is compiled once, by ``python -m recorder.export.report.template``,
into ``_compiled.py``, a module of the package that Python byte-compiles and caches as it does
any other. ``_compiled.KEY`` names what it was compiled from: the template's text, the
environment's options that shape the code, and Jinja2's version number for its compiled form
(``bc_version``, what Jinja2's own bytecode caches are keyed on across its releases). When the
key does not match, because the template was edited and not compiled again or Jinja2 changed the
form of its compiled code, the template is compiled from its source, as before: slower, never
stale. A test fails while ``_compiled.py`` is not current.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import re
import sys
from pathlib import Path

import jinja2
from jinja2.bccache import bc_version

from recorder.evidence.text import printable
from recorder.export.exporter import hole_summary, resume_text

__all__ = ["ENV", "NAME", "compiled_source", "key", "report_template"]

NAME = "report.html.j2"
COMPILED = Path(__file__).with_name("_compiled.py")

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _printable(value: object) -> str:
    return "-" if value is None else printable(value)


def _secs(t: float) -> str:
    return f"{t:.1f} s" if t % 1 else f"{t:.0f} s"


def _shell_safe(name: object) -> bool:
    """A file name that can be pasted into a shell as it is: nothing else."""
    return isinstance(name, str) and bool(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", name))


def _vclass(verdict: object) -> str:
    """The style of a verdict: OK green, INCOMPLETE amber, anything else red."""
    return {"OK": "ok", "INCOMPLETE": "incomplete"}.get(str(verdict), "bad")


ENV.filters["p"] = _printable
ENV.filters["secs"] = _secs
ENV.filters["shell_safe"] = _shell_safe
ENV.filters["vclass"] = _vclass
ENV.filters["hole"] = hole_summary
ENV.filters["resume"] = resume_text


def source() -> str:
    text, _, _ = ENV.loader.get_source(ENV, NAME)  # type: ignore[union-attr]
    return text


def key(text: str) -> str:
    """What a compiled template of ``text`` depends on, as a hex digest."""
    options = (ENV.autoescape, ENV.trim_blocks, ENV.lstrip_blocks)
    shape = f"jinja2 bc_version {bc_version}; autoescape, trim_blocks, lstrip_blocks {options}"
    return hashlib.sha256(f"{shape}\n{text}".encode()).hexdigest()


def compiled_source() -> str:
    """``_compiled.py`` as it should be for the template as it is now."""
    text = source()
    code = ENV.compile(text, NAME, NAME, raw=True, defer_init=True)
    # appended, not prepended: the code's line numbers map to the template's (debug_info)
    made = "# Made by `python -m recorder.export.report.template` from the template: do not edit."
    return f"{code}\n\n{made}\nKEY = {key(text)!r}\n"


@functools.cache
def report_template() -> jinja2.Template:
    """The template, from ``_compiled`` when it is current, else compiled from its source."""
    try:
        module = importlib.import_module("recorder.export.report._compiled")
    except ImportError:  # not made yet: compiled here, as when it is not current
        return ENV.get_template(NAME)
    if getattr(module, "KEY", None) == key(source()):
        return ENV.template_class.from_module_dict(ENV, vars(module), ENV.make_globals(None))
    return ENV.get_template(NAME)


def main() -> int:
    """Write ``_compiled.py`` for the template as it is now."""
    COMPILED.write_text(compiled_source(), encoding="utf-8")
    print(f"wrote {COMPILED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
