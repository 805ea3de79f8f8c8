"""The simulator backend: every hal device in software, deterministic and faster than real time.

``sim`` imports ``hal`` only and never touches the recorder. Each simulated device implements its
hal contract and adds verbs for tests (``inputs.press("record")``, ``storage.fill_to(0.99)``,
``camera.stall(2.0)``, ``clock.jump(3600)``) and a ``history`` of ``(t, what, value)`` tuples.
Virtual time is driven by the camera's frame clock (see ``sim.camera``); a scenario
(``sim.scenario``) is a TOML timeline of those verbs.

What the simulator does NOT simulate:

- optics, exposure, sensor noise or lens faults: the picture is a synthetic scene;
- audio (there is no audio stream);
- switch bounce, GPIO electrical faults or interrupt latency: edges are clean and instant;
- battery chemistry: charge falls and rises linearly, voltage is a straight-line function of it;
- filesystem behaviour: space is bookkeeping of ``guard()`` calls, and injected faults come from
  ``guard()`` only, never from the writes themselves; fsync is not slowed down;
- power loss other than a whole-process SIGKILL (no torn sectors, no brown-out);
- the secure element or TPM: the device key is a PEM file like on the Pi.
"""
