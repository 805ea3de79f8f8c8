"""Verify and export straight from the bucket the cameras offload to (issue 9, section 5): the
agency's side of ``recorder.offload``, reading what it wrote (docs/verify-and-export.md).

- ``url``: the ``s3://`` grammar; imports nothing of boto3;
- ``source``: a bucket prefix as an evidence ``Source``: every version of every object listed,
  each read as a stream, the camera's listing and checkpoints found under ``log/``.

Errors are the evidence library's: a bad URL is ``BadURL`` (exit 2), a store that cannot be
listed is ``recorder.evidence.source.SourceError`` (exit 4); one object that cannot be read is
an UNREADABLE line, as a file is.
"""
