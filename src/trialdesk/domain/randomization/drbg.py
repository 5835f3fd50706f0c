"""Deterministic random bit generator for randomization lists: HMAC-DRBG with SHA-256.

Why hand-written: a randomization list must be (a) reproducible by anyone holding the recorded seed,
on any platform and Python version, so that an auditor can regenerate and verify it, and (b)
cryptographically unpredictable to anyone without the seed, so that upcoming allocations cannot be
guessed from past ones (allocation concealment, ICH E9 section 2.3.2). ``random`` (Mersenne Twister)
and ``numpy.random`` are reproducible but not cryptographically strong (their state can be recovered
from outputs), and their algorithms may change between versions; ``secrets`` is strong but not
reproducible. HMAC-DRBG from NIST SP 800-90A Rev. 1 (section 10.1.2), built only on ``hmac`` and
``hashlib``, is both.

The construction follows SP 800-90A exactly (Instantiate, Update and Generate, no prediction
resistance, no additional input), so the byte stream of :meth:`Drbg.generate` matches the NIST CAVP
HMAC_DRBG SHA-256 known-answer vectors when the seed is ``entropy_input || nonce``. Integer and float
draws are derived from that stream by rejection sampling, so they are exactly unbiased.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TypeVar

T = TypeVar("T")

_OUTLEN = 32  # SHA-256 output length in bytes
_MAX_BYTES_PER_REQUEST = 1 << 16  # SP 800-90A table 2: at most 2**19 bits per request
_RESEED_INTERVAL = 1 << 48  # SP 800-90A table 2: at most 2**48 requests between reseeds
MIN_SEED_BYTES = 32
"""Minimum seed length in bytes (256 bits of entropy, the SHA-256 security strength)."""


def new_seed() -> bytes:
    """Return a fresh 32-byte (256-bit) seed from the operating system's CSPRNG (``secrets``)."""
    return secrets.token_bytes(32)


class Drbg:
    """HMAC-DRBG (SHA-256) of NIST SP 800-90A Rev. 1, instantiated from a recorded seed.

    Parameters
    ----------
    seed:
        The recorded seed material (entropy input, optionally followed by a nonce), at least
        :data:`MIN_SEED_BYTES` bytes. The same seed always yields the same stream.
    personalization:
        Optional personalization string (SP 800-90A section 8.7.1), e.g. a stratum key, so that one
        recorded seed yields independent streams per stratum.
    """

    def __init__(self, seed: bytes, *, personalization: bytes = b"") -> None:
        if len(seed) < MIN_SEED_BYTES:
            raise ValueError(f"a DRBG seed needs at least {MIN_SEED_BYTES} bytes, got {len(seed)}")
        self._key = b"\x00" * _OUTLEN
        self._value = b"\x01" * _OUTLEN
        self._update(bytes(seed) + bytes(personalization))
        self._reseed_counter = 1

    def _hmac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def _update(self, provided: bytes) -> None:
        """HMAC_DRBG_Update (SP 800-90A section 10.1.2.2)."""
        self._key = self._hmac(self._value + b"\x00" + provided)
        self._value = self._hmac(self._value)
        if provided:
            self._key = self._hmac(self._value + b"\x01" + provided)
            self._value = self._hmac(self._value)

    def generate(self, nbytes: int) -> bytes:
        """Return ``nbytes`` pseudorandom bytes (HMAC_DRBG_Generate, SP 800-90A section 10.1.2.5).

        ``nbytes`` must be in 0..65536 (the standard's per-request limit is 2**19 bits).
        """
        if not 0 <= nbytes <= _MAX_BYTES_PER_REQUEST:
            raise ValueError(f"nbytes must be in 0..{_MAX_BYTES_PER_REQUEST}, got {nbytes}")
        if self._reseed_counter > _RESEED_INTERVAL:
            raise RuntimeError("HMAC-DRBG reseed interval exceeded; instantiate from a new seed")
        out = bytearray()
        while len(out) < nbytes:
            self._value = self._hmac(self._value)
            out += self._value
        self._update(b"")
        self._reseed_counter += 1
        return bytes(out[:nbytes])

    def randbelow(self, n: int) -> int:
        """Return a uniformly distributed integer in ``[0, n)`` (``n >= 1``).

        Exactly unbiased: draws ``bit_length(n - 1)`` bits and rejects values ``>= n`` (the expected
        number of draws is below 2).
        """
        if n < 1:
            raise ValueError(f"randbelow needs n >= 1, got {n}")
        if n == 1:
            return 0
        bits = (n - 1).bit_length()
        nbytes = (bits + 7) // 8
        excess = nbytes * 8 - bits
        while True:
            candidate = int.from_bytes(self.generate(nbytes), "big") >> excess
            if candidate < n:
                return candidate

    def random(self) -> float:
        """Return a uniformly distributed float in ``[0.0, 1.0)`` with 53 random bits."""
        return self.randbelow(1 << 53) / float(1 << 53)

    def shuffle(self, items: list[T]) -> None:
        """Shuffle ``items`` in place (Fisher-Yates / Durstenfeld, every permutation equally likely)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.randbelow(i + 1)
            items[i], items[j] = items[j], items[i]

    def choice_weighted(self, options: list[T], weights: list[int]) -> T:
        """Return one of ``options`` with probability proportional to its positive integer weight.

        Exact (integer arithmetic): draws ``randbelow(sum(weights))``.
        """
        if not options or len(options) != len(weights) or any(w < 1 for w in weights):
            raise ValueError("choice_weighted needs matching non-empty options and positive integer weights")
        draw = self.randbelow(sum(weights))
        for option, weight in zip(options, weights, strict=True):
            if draw < weight:
                return option
            draw -= weight
        raise AssertionError("unreachable: draw exceeded the total weight")
