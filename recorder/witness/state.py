"""The witness's state: one SQLite database (``witness.sqlite3`` in the state directory).

Tables (``PRAGMA user_version`` 1)::

    logs     one row per log (origin): the latest checkpoint the witness cosigned, as the
             device signed it, and when it last cosigned it
    forks    a signed checkpoint of the size of a cosigned one with another root, kept next to
             the cosigned one: two notes the device signed, which prove it showed two trees
    refused  a signed checkpoint whose consistency proof did not verify, with the proof and the
             cosigned checkpoint it was checked against (a broken client or a lying log)

Every update is one transaction begun with ``BEGIN IMMEDIATE``, so the read of a log's row and
its update hold the write lock together, across threads and processes: the race of
c2sp.org/tlog-witness (two requests checked against the same size, the smaller one written
last) cannot happen. Triggers refuse, whatever the code above them does, a row that shrinks,
changes its root at the same size, or is deleted, and any change to the two evidence tables.
The database is in WAL mode with ``synchronous=FULL``: a commit is on disk before the witness
answers, as the spec requires.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recorder.witness.errors import StateError

__all__ = ["BUSY_TIMEOUT", "DB_NAME", "Fork", "Latest", "Refused", "State", "Transaction"]

DB_NAME = "witness.sqlite3"
BUSY_TIMEOUT = 30.0
"""Seconds a request waits for another's transaction; each holds the lock for well under a
millisecond plus one sync."""
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL CHECK (size >= 0),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    checkpoint  TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS forks (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    cosigned    TEXT NOT NULL,
    conflicting TEXT NOT NULL,
    seen_at     INTEGER NOT NULL,
    UNIQUE (origin, conflicting)
) STRICT;
CREATE TABLE IF NOT EXISTS refused (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    old_size    INTEGER NOT NULL,
    proof       TEXT NOT NULL,
    checkpoint  TEXT NOT NULL,
    against     TEXT,
    reason      TEXT NOT NULL,
    seen_at     INTEGER NOT NULL,
    UNIQUE (origin, checkpoint, old_size, proof)
) STRICT;
CREATE TRIGGER IF NOT EXISTS logs_move_forward_only BEFORE UPDATE ON logs
WHEN NEW.origin IS NOT OLD.origin OR NEW.size < OLD.size
     OR (NEW.size = OLD.size AND NEW.root IS NOT OLD.root)
BEGIN SELECT RAISE(ABORT, 'a log''s row never moves backwards, forks or changes origin'); END;
CREATE TRIGGER IF NOT EXISTS logs_are_kept BEFORE DELETE ON logs
BEGIN SELECT RAISE(ABORT, 'a log''s row is never deleted'); END;
CREATE TRIGGER IF NOT EXISTS forks_are_kept BEFORE DELETE ON forks
BEGIN SELECT RAISE(ABORT, 'fork evidence is never deleted'); END;
CREATE TRIGGER IF NOT EXISTS forks_are_unchanged BEFORE UPDATE ON forks
BEGIN SELECT RAISE(ABORT, 'fork evidence is never changed'); END;
CREATE TRIGGER IF NOT EXISTS refused_are_kept BEFORE DELETE ON refused
BEGIN SELECT RAISE(ABORT, 'refused checkpoints are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS refused_are_unchanged BEFORE UPDATE ON refused
BEGIN SELECT RAISE(ABORT, 'refused checkpoints are never changed'); END;
"""


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint the witness cosigned for one log."""

    size: int
    root: bytes
    checkpoint: str
    """The checkpoint note with the device's signature lines."""
    cosigned_at: int


@dataclass(frozen=True)
class Fork:
    origin: str
    size: int
    cosigned: str
    conflicting: str
    seen_at: int


@dataclass(frozen=True)
class Refused:
    origin: str
    old_size: int
    proof: str
    checkpoint: str
    against: str | None
    reason: str
    seen_at: int


class Transaction:
    """Reads and writes inside one ``BEGIN IMMEDIATE`` transaction (see :meth:`State.update`)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def latest(self, origin: str) -> Latest | None:
        row = self._con.execute(
            "SELECT size, root, checkpoint, cosigned_at FROM logs WHERE origin = ?", (origin,)
        ).fetchone()
        return None if row is None else Latest(*row)

    def advance(self, origin: str, size: int, root: bytes, checkpoint: str, at: int) -> None:
        """Make (size, root) the latest cosigned checkpoint of ``origin``."""
        self._con.execute(
            "INSERT INTO logs (origin, size, root, checkpoint, cosigned_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
            "root = excluded.root, checkpoint = excluded.checkpoint, "
            "cosigned_at = excluded.cosigned_at",
            (origin, size, root, checkpoint, at),
        )

    def keep_fork(self, origin: str, size: int, cosigned: str, conflicting: str, at: int) -> None:
        self._con.execute(
            "INSERT OR IGNORE INTO forks (origin, size, cosigned, conflicting, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (origin, size, cosigned, conflicting, at),
        )

    def keep_refused(self, r: Refused) -> None:
        self._con.execute(
            "INSERT OR IGNORE INTO refused (origin, old_size, proof, checkpoint, against, "
            "reason, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r.origin, r.old_size, r.proof, r.checkpoint, r.against, r.reason, r.seen_at),
        )


class State:
    """The database in ``state_dir``, created (mode 0600) on first use.

    Each transaction opens its own connection, so any number of threads and processes may use
    one database; SQLite's lock orders their transactions."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            os.close(fd)
        except OSError as e:
            raise StateError(
                f"{self.path}: cannot open the witness's database: {e.strerror}"
            ) from None
        try:
            with contextlib.closing(self._connect()) as con:
                con.execute("PRAGMA journal_mode = WAL")
                version = con.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise StateError(
                        f"{self.path}: schema version {version}; this witness reads "
                        f"version {SCHEMA_VERSION}"
                    )
                con.executescript(
                    f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
                )
        except sqlite3.OperationalError as e:  # cannot open, read-only, locked for 30 s
            raise StateError(f"{self.path}: cannot use the witness's database: {e}") from None
        except sqlite3.DatabaseError as e:
            raise StateError(f"{self.path}: not a witness database ({e})") from None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA trusted_schema = OFF")
        return con

    @contextlib.contextmanager
    def update(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def latest(self, origin: str) -> Latest | None:
        with contextlib.closing(self._connect()) as con:
            return Transaction(con).latest(origin)

    def logs(self) -> dict[str, Latest]:
        with contextlib.closing(self._connect()) as con:
            rows = con.execute("SELECT origin, size, root, checkpoint, cosigned_at FROM logs")
            return {r[0]: Latest(*r[1:]) for r in rows}

    def forks(self) -> list[Fork]:
        with contextlib.closing(self._connect()) as con:
            q = "SELECT origin, size, cosigned, conflicting, seen_at FROM forks ORDER BY id"
            return [Fork(*r) for r in con.execute(q)]

    def refused(self) -> list[Refused]:
        with contextlib.closing(self._connect()) as con:
            q = (
                "SELECT origin, old_size, proof, checkpoint, against, reason, seen_at "
                "FROM refused ORDER BY id"
            )
            return [Refused(*r) for r in con.execute(q)]
