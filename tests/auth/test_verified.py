"""Verified tokens are kept until they expire, never past it, and the cache stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medcity.auth.tokens import TokenClaims
from medcity.auth.verified import VerifiedTokens

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _claims(expires_in: int, jti: str = "j") -> TokenClaims:
    return TokenClaims(subject="u", role="doctor", scopes=(), region="77", jti=jti,
                       expires=int(NOW.timestamp()) + expires_in)  # fmt: skip


def test_a_kept_token_is_refused_from_its_expiry_on() -> None:
    kept = VerifiedTokens()
    kept.put("t", _claims(60), NOW)
    assert kept.get("t", NOW + timedelta(seconds=59)) == _claims(60)
    assert kept.get("t", NOW + timedelta(seconds=60)) is None  # as the verification: `exp` itself is too late
    assert kept.get("other", NOW) is None


def test_a_full_cache_drops_the_expired_first_then_the_oldest() -> None:
    kept = VerifiedTokens(capacity=4)
    kept.put("old", _claims(10, "old"), NOW)
    for name in ("a", "b", "c"):
        kept.put(name, _claims(600, name), NOW)
    later = NOW + timedelta(seconds=30)
    kept.put("d", _claims(600, "d"), later)  # full: the expired one goes
    assert [kept.get(name, later) is not None for name in ("old", "a", "b", "c", "d")] == [False, *[True] * 4]
    kept.put("e", _claims(600, "e"), later)  # full of valid ones: the older half goes
    assert [kept.get(name, later) is not None for name in ("a", "b", "c", "d", "e")] == [False, False, True, True, True]
