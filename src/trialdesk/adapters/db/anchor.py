"""Anchoring the audit chain outside the database: an HMAC key file and signed checkpoints.

The hash chain of :mod:`trialdesk.adapters.db.audit` proves that no row was changed *unless* the
whole chain after it was recomputed: someone with write access to the database (a superuser who drops
the append-only triggers) can truncate the tail, or edit a row and recompute every later hash, and
the chain verifies again. The anchor closes that gap with a secret the database does not hold:

* the **key file** (``data_dir/audit-key`` by default, setting ``audit_key_file``) holds 32 random
  bytes as hex, created with mode 0600 at set-up (``trialdesk db upgrade`` or the server's start-up);
* after every write unit of work that grew the chain, one **checkpoint** is appended as a JSON line
  to the **checkpoint file** (``data_dir/audit-checkpoints.jsonl``, mode 0600, opened ``O_APPEND``):
  ``{"seq", "hash", "at", "key_id", "hmac"}`` where ``hmac`` is HMAC-SHA256 (RFC 2104) under the
  key of ``[seq, hash, at, key_id]`` as compact JSON.

:func:`check_checkpoints` verifies each checkpoint's HMAC and that the chain still holds each
checkpointed ``(seq, hash)``: a truncated or recomputed chain no longer contains the signed head, and
a forged checkpoint needs the key. Because each row's hash covers every row before it, one valid
checkpoint anchors the whole prefix up to its ``seq``. Cost: one ``open``/``write`` of about 230 bytes
per write unit of work (~0.05 ms; the file is fsynced at most once a second: measured in
``docs/security.md``).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from trialdesk.adapters.db.audit import GENESIS_HASH
from trialdesk.adapters.db.models import AuditHead, AuditRecord

log = logging.getLogger(__name__)

KEY_BYTES = 32
SYNC_INTERVAL_SECONDS = 1.0
"""A power loss can lose at most this much of the newest checkpoints (their rows then show as not
anchored: review them and run ``trialdesk audit anchor``); the database's own commits are fsynced."""

_last_sync: dict[Path, float] = {}


class AnchorError(RuntimeError):
    """The key file or checkpoint file cannot be used (unreadable, malformed, wrong mode)."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed chain head as stored in the checkpoint file."""

    seq: int
    hash: str
    at: str
    key_id: str
    hmac: str
    line: int = 0

    def message(self) -> bytes:
        """The signed bytes: ``[seq, hash, at, key_id]`` as compact JSON (UTF-8)."""
        return json.dumps([self.seq, self.hash, self.at, self.key_id], separators=(",", ":")).encode()


def key_id(key: bytes) -> str:
    """A public name of ``key`` (first 16 hex digits of its SHA-256): which key signed a checkpoint."""
    return hashlib.sha256(key).hexdigest()[:16]


def hmac_sha256(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 (RFC 2104 with SHA-256, test vectors in RFC 4231) of ``message`` under ``key``, hex."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(key: bytes, seq: int, head_hash: str, at: str | None = None) -> Checkpoint:
    """A checkpoint of ``(seq, head_hash)`` signed with HMAC-SHA256 under ``key``."""
    moment = at or datetime.now(UTC).isoformat(timespec="microseconds")
    unsigned = Checkpoint(seq, head_hash, moment, key_id(key), "")
    digest = hmac_sha256(key, unsigned.message())
    return Checkpoint(seq, head_hash, moment, unsigned.key_id, digest)


def signature_ok(key: bytes, checkpoint: Checkpoint) -> bool:
    """Whether ``checkpoint`` was signed with ``key`` (constant-time comparison)."""
    expected = hmac_sha256(key, checkpoint.message())
    return checkpoint.key_id == key_id(key) and hmac.compare_digest(expected, checkpoint.hmac)


@dataclass(frozen=True)
class AuditAnchor:
    """Where the key and the checkpoints live (both outside the database)."""

    key_file: Path
    checkpoint_file: Path

    def ensure_key(self) -> bool:
        """Create the key file (mode 0600, 32 random bytes as hex) when it is missing; True if created.

        Written to a private temporary file first and linked into place, so a concurrent reader (another
        server worker starting) never sees an empty key."""
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        if self.key_file.exists():
            return False
        temporary = self.key_file.with_name(f".{self.key_file.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(KEY_BYTES) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, self.key_file)
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def load_key(self) -> bytes | None:
        """The key, or None when the key file does not exist."""
        try:
            text = self.key_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise AnchorError(f"the audit key file {self.key_file} is not hex") from None
        if len(key) < 16:
            raise AnchorError(f"the audit key in {self.key_file} is shorter than 16 bytes")
        return key

    def append(self, checkpoint: Checkpoint) -> None:
        """Append one checkpoint line (``O_APPEND``: one ``write`` of one line, atomic between processes);
        fsynced at most once per :data:`SYNC_INTERVAL_SECONDS` per process (an fsync costs ~100 times the
        write: docs/security.md)."""
        record = {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "at": checkpoint.at,
            "key_id": checkpoint.key_id,
            "hmac": checkpoint.hmac,
        }
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.checkpoint_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # other processes' appends wait: the size below stays true
            _write_whole_line(fd, line)
            now = time.monotonic()
            if now - _last_sync.get(self.checkpoint_file, -SYNC_INTERVAL_SECONDS) >= SYNC_INTERVAL_SECONDS:
                os.fsync(fd)
                _last_sync[self.checkpoint_file] = now
        finally:
            os.close(fd)  # closing releases the lock

    def checkpoint(self, seq: int, head_hash: str) -> bool:
        """Sign and append ``(seq, head_hash)`` when a key exists; never raises (a failure is logged and
        shows later as unanchored rows). True if written."""
        try:
            key = self.load_key()
            if key is None:
                return False
            self.append(sign(key, seq, head_hash))
        except (OSError, AnchorError) as exc:
            log.error("audit checkpoint of seq %s not written: %s", seq, exc)
            return False
        return True

    def read(self) -> list[Checkpoint]:
        """Every checkpoint in file order (empty when the file does not exist)."""
        try:
            lines = self.checkpoint_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [_parse(line, number) for number, line in enumerate(lines, 1) if line.strip()]

    def set_up(self, connection: Connection) -> bool:
        """At set-up: create the key when missing and, if it was new and no checkpoint exists yet, sign
        the current head (anchoring what is already there). True if a key was created."""
        created = self.ensure_key()
        if created and not self.read():
            seq, head_hash = chain_head(connection)
            self.checkpoint(seq, head_hash)
        return created

    def restart(self, connection: Connection) -> Path | None:
        """After a verified restore (the chain is now older than the checkpoint file): move the checkpoint
        file aside (returned, kept as evidence) and sign the restored head in a new one."""
        archived = None
        if self.checkpoint_file.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            archived = self.checkpoint_file.with_name(f"{self.checkpoint_file.name}.before-restore-{stamp}")
            self.checkpoint_file.rename(archived)
        self.checkpoint(*chain_head(connection))
        return archived

    def rotate(self, connection: Connection) -> Path:
        """Replace the key: move the key and checkpoint files into a new archive folder beside the key
        (returned; copy it off the server), create a new key and sign the current head with it. Verify
        the chain with the old key first (the new checkpoint vouches for everything before it)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        archive = self.key_file.parent / "audit-archive" / stamp
        archive.mkdir(parents=True, mode=0o700)
        for path in (self.key_file, self.checkpoint_file):
            if path.exists():
                path.rename(archive / path.name)
        self.ensure_key()
        self.checkpoint(*chain_head(connection))
        return archive


def _write_whole_line(fd: int, line: bytes) -> None:
    """Append ``line`` whole or not at all: on a full disk a short write is cut back to the previous end
    of file (a torn line would make every later checkpoint line look forged), then ENOSPC is raised."""
    size = os.fstat(fd).st_size
    try:
        written = os.write(fd, line)
    except OSError:
        os.ftruncate(fd, size)
        raise
    if written != len(line):
        os.ftruncate(fd, size)
        raise OSError(errno.ENOSPC, f"checkpoint line cut short ({written} of {len(line)} bytes written)")


def _parse(line: str, number: int) -> Checkpoint:
    try:
        data: dict[str, Any] = json.loads(line)
        return Checkpoint(
            int(data["seq"]),
            str(data["hash"]),
            str(data["at"]),
            str(data["key_id"]),
            str(data["hmac"]),
            number,
        )
    except (ValueError, KeyError, TypeError):
        return Checkpoint(-1, "", "", "", "", number)


def chain_head(connection: Connection) -> tuple[int, str]:
    """The audit chain's current head ``(last_seq, last_hash)``."""
    row = connection.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    return int(row.last_seq), str(row.last_hash)


@dataclass
class AnchorReport:
    """Result of :func:`check_checkpoints`."""

    checkpoints: int = 0
    anchored_seq: int = 0
    unanchored_rows: int = 0
    problems: list[str] = field(default_factory=list)
    state: str = "anchored"
    """``anchored``, ``not_anchored`` (no key and no checkpoint: set-up never ran) or ``broken``."""

    @property
    def ok(self) -> bool:
        """No problem found (a database never anchored is not ok either: see ``state``)."""
        return not self.problems


def check_checkpoints(connection: Connection, anchor: AuditAnchor, *, prefix: bool = False) -> AnchorReport:
    """Check every checkpoint against the key and the chain in ``connection``.

    Problems: a missing key or checkpoint file, a line that does not parse or whose HMAC is wrong (another
    key, or forged), a checkpointed ``(seq, hash)`` the chain no longer holds (truncated or recomputed),
    and rows after the last checkpoint (added outside trialdesk, or a checkpoint lost in a crash: review
    them, then ``trialdesk audit anchor``). With ``prefix`` (a restored backup, older than the
    checkpoint file) checkpoints beyond the chain's head and an unanchored tail are accepted.
    """
    report = AnchorReport()
    head_seq, _ = chain_head(connection)
    key = anchor.load_key()
    checkpoints = anchor.read()
    report.checkpoints = len(checkpoints)
    if key is None and not checkpoints:
        report.state = "not_anchored"
        report.problems.append(
            f"no audit key ({anchor.key_file}) and no checkpoint: the chain is not anchored"
        )
        return report
    if key is None:
        report.problems.append(
            f"the audit key file {anchor.key_file} is missing: checkpoints cannot be checked"
        )
    elif not checkpoints and head_seq > 0:
        report.problems.append(f"the checkpoint file {anchor.checkpoint_file} is missing or empty")
    valid = [c for c in checkpoints if key is not None and _signed(key, c, report)]
    if prefix:
        valid = [c for c in valid if c.seq <= head_seq]
    report.problems.extend(_missing_from_chain(connection, valid, head_seq))
    report.anchored_seq = max((c.seq for c in valid), default=0)
    report.unanchored_rows = max(head_seq - report.anchored_seq, 0)
    if report.unanchored_rows and not prefix and key is not None:
        report.problems.append(
            f"{report.unanchored_rows} audit rows after seq {report.anchored_seq} are not anchored by a "
            "checkpoint (written outside trialdesk, or a checkpoint lost in a crash): review them, then "
            "`trialdesk audit anchor`"
        )
    report.state = "broken" if report.problems else "anchored"
    return report


def _signed(key: bytes, checkpoint: Checkpoint, report: AnchorReport) -> bool:
    if checkpoint.seq < 0:
        report.problems.append(f"checkpoint line {checkpoint.line} is not a valid checkpoint")
        return False
    if checkpoint.key_id != key_id(key):
        report.problems.append(
            f"checkpoint line {checkpoint.line} (seq {checkpoint.seq}) was signed with another key "
            f"({checkpoint.key_id}, the key file holds {key_id(key)})"
        )
        return False
    if not signature_ok(key, checkpoint):
        report.problems.append(
            f"checkpoint line {checkpoint.line} (seq {checkpoint.seq}): HMAC does not verify"
        )
        return False
    return True


def _missing_from_chain(
    connection: Connection, checkpoints: list[Checkpoint], head_seq: int
) -> Iterator[str]:
    """Checkpoints whose ``(seq, hash)`` the chain does not hold (read in one ordered pass)."""
    wanted: dict[int, set[str]] = {}
    for checkpoint in checkpoints:
        wanted.setdefault(checkpoint.seq, set()).add(checkpoint.hash)
    found = dict(_chain_hashes(connection, wanted.keys()))
    found[0] = GENESIS_HASH
    for seq in sorted(wanted):
        for signed_hash in sorted(wanted[seq]):
            if seq > head_seq:
                yield f"checkpoint seq {seq} is beyond the chain's head ({head_seq}): the chain was truncated"
            elif found.get(seq) != signed_hash:
                yield f"the chain's row {seq} no longer has the checkpointed hash: the chain was rewritten"


def _chain_hashes(connection: Connection, seqs: Iterable[int]) -> Iterator[tuple[int, str]]:
    wanted = sorted(s for s in seqs if s > 0)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = connection.execute(select(AuditRecord.seq, AuditRecord.hash).where(AuditRecord.seq.in_(chunk)))
        yield from ((int(seq), str(digest)) for seq, digest in rows)
