"""HMAC-DRBG (NIST SP 800-90A Rev. 1, section 10.1.2) known answers and distribution checks."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest
from scipy import stats

from trialdesk.domain.randomization.drbg import Drbg, new_seed

SEED = bytes(range(32))


def _reference_hmac_drbg(seed_material: bytes, requests: list[int]) -> list[bytes]:
    """SP 800-90A HMAC_DRBG written out step by step, independently of the module under test."""

    def mac(key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    key, value = b"\x00" * 32, b"\x01" * 32
    # Instantiate: Update(seed_material)
    key = mac(key, value + b"\x00" + seed_material)
    value = mac(key, value)
    key = mac(key, value + b"\x01" + seed_material)
    value = mac(key, value)
    outputs = []
    for nbytes in requests:
        temp = b""
        while len(temp) < nbytes:
            value = mac(key, value)
            temp += value
        outputs.append(temp[:nbytes])
        # Update() with no provided data
        key = mac(key, value + b"\x00")
        value = mac(key, value)
    return outputs


def test_generate_matches_nist_cavp_hmac_drbg_sha256_count0() -> None:
    # CAVP HMAC_DRBG.rsp, [SHA-256], no prediction resistance, no personalization/additional input,
    # COUNT = 0: instantiate with EntropyInput || Nonce, generate twice, the second output is ReturnedBits.
    entropy = bytes.fromhex("ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488")
    nonce = bytes.fromhex("659ba96c601dc69fc902940805ec0ca8")
    expected = bytes.fromhex(
        "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89d54fbb978a15b5c443c9ec21036d2460"
        "b6f73ebad0dc2aba6e624abf07745bc107694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
        "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"
    )
    drbg = Drbg(entropy + nonce)
    drbg.generate(128)
    assert drbg.generate(128) == expected


def test_generate_matches_independent_hmac_computation() -> None:
    requests = [1, 32, 33, 64, 7]
    drbg = Drbg(SEED)
    assert [drbg.generate(n) for n in requests] == _reference_hmac_drbg(SEED, requests)


def test_personalization_is_appended_to_the_seed_material() -> None:
    drbg = Drbg(SEED, personalization=b"site=S01|ecog=0")
    assert drbg.generate(40) == _reference_hmac_drbg(SEED + b"site=S01|ecog=0", [40])[0]
    assert Drbg(SEED, personalization=b"x").generate(16) != Drbg(SEED).generate(16)


def test_randbelow_known_answer_by_rejection_sampling() -> None:
    # randbelow(10): draw 1 byte per attempt, keep its top 4 bits, reject values >= 10.
    stream = _reference_hmac_drbg(SEED, [1] * 50)
    expected = []
    for chunk in stream:
        candidate = chunk[0] >> 4
        if candidate < 10:
            expected.append(candidate)
    drbg = Drbg(SEED)
    assert [drbg.randbelow(10) for _ in range(len(expected))] == expected
    assert len(expected) < 50  # some draws were rejected, so the rejection branch is exercised


def test_randbelow_is_unbiased_chi_square_60k() -> None:
    drbg = Drbg(SEED)
    counts = Counter(drbg.randbelow(6) for _ in range(60_000))
    assert sorted(counts) == [0, 1, 2, 3, 4, 5]
    result = stats.chisquare([counts[k] for k in range(6)])
    assert result.pvalue > 0.001
    assert max(abs(counts[k] - 10_000) for k in range(6)) < 400


def test_random_is_in_unit_interval_with_mean_one_half() -> None:
    drbg = Drbg(SEED)
    values = [drbg.random() for _ in range(5_000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.02


def test_same_seed_same_stream_and_different_seed_different_stream() -> None:
    a, b, c = Drbg(SEED), Drbg(SEED), Drbg(bytes(32))
    draws_a = [a.randbelow(1000) for _ in range(20)]
    assert draws_a == [b.randbelow(1000) for _ in range(20)]
    assert draws_a != [c.randbelow(1000) for _ in range(20)]


def test_shuffle_is_a_permutation_and_reproducible() -> None:
    items = list(range(20))
    first, second = items.copy(), items.copy()
    Drbg(SEED).shuffle(first)
    Drbg(SEED).shuffle(second)
    assert first == second
    assert sorted(first) == items
    assert first != items


def test_shuffle_all_permutations_of_three_equally_likely() -> None:
    drbg = Drbg(SEED)
    counts: Counter[tuple[int, ...]] = Counter()
    for _ in range(6_000):
        items = [0, 1, 2]
        drbg.shuffle(items)
        counts[tuple(items)] += 1
    assert len(counts) == 6
    assert stats.chisquare(list(counts.values())).pvalue > 0.001


def test_choice_weighted_follows_integer_weights() -> None:
    drbg = Drbg(SEED)
    counts = Counter(drbg.choice_weighted(["A", "B"], [2, 1]) for _ in range(6_000))
    assert stats.chisquare([counts["A"], counts["B"]], [4_000, 2_000]).pvalue > 0.001


def test_new_seed_is_32_random_bytes() -> None:
    first, second = new_seed(), new_seed()
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize("seed", [b"", b"short", bytes(31)])
def test_short_seed_is_refused(seed: bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Drbg(seed)


def test_invalid_arguments_are_refused() -> None:
    drbg = Drbg(SEED)
    with pytest.raises(ValueError):
        drbg.randbelow(0)
    with pytest.raises(ValueError):
        drbg.generate(-1)
    with pytest.raises(ValueError):
        drbg.choice_weighted(["A"], [0])
    assert drbg.randbelow(1) == 0
