"""TOTP codes against RFC 6238's published vectors and an independent implementation
(`oathtool --totp -b` from Debian's oathtool, installed by .ci/run)."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from streamauth.logic import totp

RFC_SECRET = b"12345678901234567890"  # RFC 6238 Appendix B, SHA1
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "eight_digits"), RFC_VECTORS)
def test_rfc6238_vectors(at: int, eight_digits: str) -> None:
    # The RFC prints 8 digits; a 6-digit code is the same value mod 10^6.
    assert totp.totp(RFC_SECRET, at, 30) == eight_digits[-6:]


def oathtool(b32: str, at: float, period: int) -> str:
    if shutil.which("oathtool") is None:
        pytest.skip("oathtool is not installed (.ci/run installs it)")
    when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = subprocess.run(
        ["oathtool", "--totp", "-b", "-d", "6", "-s", f"{period}s", "-N", when, b32],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("at", [1_800_000_000.0, 1_800_000_029.9, 1_234_567_890.0])
def test_registered_secret_matches_oathtool(at: float) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert totp.totp(totp.b32_key(secret), at, 60) == oathtool(secret, at, 60)


@pytest.mark.parametrize("period", [10, 30, 45, 300])
def test_custom_period_matches_oathtool(period: int) -> None:
    secret = totp.new_b32_secret()
    assert totp.totp(totp.b32_key(secret), 1_800_000_123.0, period) == oathtool(secret, 1_800_000_123.0, period)


def test_derived_secret_of_unregistered_subscriber_matches_oathtool() -> None:
    key = totp.derived_key("appPublishSecret", "guest42", "stream1", "publish")
    assert key == b"appPublishSecretguest42stream1publishXXX"  # 37 characters padded to 40
    assert len(key) % 8 == 0
    b32 = base64.b32encode(key).decode()
    assert totp.totp(key, 1_800_000_000.0, 60) == oathtool(b32, 1_800_000_000.0, 60)


def test_window_matches_adjacent_steps_only() -> None:
    key, period, now = totp.b32_key(totp.new_b32_secret()), 30, 1_800_000_015.0
    current = totp.step(now, period)
    for offset in (-1, 0, 1):
        code = totp.totp(key, (current + offset) * period, period)
        assert totp.matching_step(key, code, now, period) == current + offset
    old = totp.totp(key, (current - 2) * period, period)
    assert totp.matching_step(key, old, now, period) is None


def test_lockout_doubles_and_caps() -> None:
    assert [totp.lockout_seconds(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]


def test_a_counter_at_five_is_locked_from_its_fifth_guess() -> None:
    assert totp.lockout_ends_ms(4, 0, 1_000) is None
    assert totp.lockout_ends_ms(5, 0, 1_000) == 31_000  # the first lockout: 30 s
    assert totp.lockout_ends_ms(5, 2, 1_000) == 121_000  # the third: 120 s


def test_sealed_secret_round_trips_and_detects_tampering() -> None:
    sealed = totp.seal("JBSWY3DPEHPK3PXP", "k" * 64)
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert totp.unseal(sealed, "k" * 64) == "JBSWY3DPEHPK3PXP"
    assert totp.seal("JBSWY3DPEHPK3PXP", "k" * 64) != sealed  # fresh nonce each time
    with pytest.raises(totp.SealError):
        totp.unseal(sealed, "z" * 64)
    version, nonce, cipher, tag = sealed.split(".")
    flipped = cipher[:-2] + ("A" if cipher[-2] != "A" else "B") + cipher[-1]
    with pytest.raises(totp.SealError):
        totp.unseal(".".join((version, nonce, flipped, tag)), "k" * 64)
    with pytest.raises(totp.SealError):
        totp.unseal("garbage", "k" * 64)


def test_agrees_with_pyotp_where_pyotp_accepts_the_key() -> None:
    import pyotp

    secret = totp.new_b32_secret()
    for at in (0, 59, 1_800_000_000, 1_800_000_059):
        assert totp.totp(totp.b32_key(secret), at, 30) == pyotp.TOTP(secret, interval=30).at(at)


def test_short_ant_media_secrets_work() -> None:
    """16 base32 characters (80 bits), which Ant Media allows and pyotp's classes refuse."""
    secret = "JBSWY3DPEHPK3PXP"
    assert totp.totp(totp.b32_key(secret), 1_800_000_000.0, 60) == oathtool(secret, 1_800_000_000.0, 60)
