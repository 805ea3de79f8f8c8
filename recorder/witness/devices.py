"""The devices a witness knows: a directory of their Ed25519 public keys, one PEM file each.

Each ``*.pub`` file is a device's public key as ``bodycam provision`` writes it (``device.pub``
in the camera's state directory, copied here under any name). The key names the device's log:
its origin is ``bodycam/device/<key id>`` (``recorder.evidence.checkpoint.device_origin``), and
only the key of that origin may sign its checkpoints. Keys are read once, at start.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder.evidence.checkpoint import device_origin
from recorder.evidence.errors import KeyFileError
from recorder.evidence.keys import load_device_public, raw_public
from recorder.witness.errors import SetupError

__all__ = ["load_devices"]


def load_devices(directory: Path) -> dict[str, Ed25519PublicKey]:
    """Every device key in ``directory``, by its log's origin; SetupError names what is wrong."""
    try:
        paths = sorted(p for p in directory.iterdir() if p.name.endswith(".pub"))
    except FileNotFoundError:
        raise SetupError(f"{directory}: no such directory (expected device *.pub files)") from None
    except NotADirectoryError:
        raise SetupError(f"{directory}: not a directory (expected device *.pub files)") from None
    except OSError as e:
        raise SetupError(f"{directory}: cannot list: {e.strerror}") from None
    if not paths:
        raise SetupError(
            f"{directory}: holds no device keys (*.pub, as `bodycam provision` writes them)"
        )
    devices: dict[str, tuple[Path, Ed25519PublicKey]] = {}
    for path in paths:
        try:
            key = load_device_public(path)
        except KeyFileError as e:
            raise SetupError(str(e)) from None
        origin = device_origin(raw_public(key))
        seen = devices.get(origin)
        if seen is not None and seen[1] != key:  # a 64-bit key id shared by two keys
            raise SetupError(f"{path} and {seen[0]} name the same log, {origin}")
        devices[origin] = (path, key)
    return {origin: key for origin, (_, key) in devices.items()}
