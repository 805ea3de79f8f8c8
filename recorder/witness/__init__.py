"""The agency's witness (c2sp.org/tlog-witness): it cosigns the checkpoints of the devices it
knows, and refuses, with the protocol's status codes, any that would move a log backwards.

The agency side: it imports the evidence library (``recorder.evidence``), never the camera's
daemon, recorder or console, and the camera imports none of it (docs/witness.md).

- ``request``: the grammar of an add-checkpoint body.
- ``devices``: the device keys a witness trusts, by their log's origin.
- ``state``: the SQLite database, one row per log, and the evidence of forks and bad proofs.
- ``witness``: add-checkpoint as a function from the body to the answer.
- ``server``: that function over HTTP.

Exceptions (raised when the witness starts, never for a request)::

    WitnessError
     ├── SetupError      the name, the key or the device keys are not usable
     └── StateError      the database cannot be opened, or is of another version
"""

from recorder.witness.errors import SetupError, StateError, WitnessError

__all__ = ["SetupError", "StateError", "WitnessError"]
