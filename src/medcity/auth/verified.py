"""Access tokens this server signed and has verified once, with their claims, until they expire: verifying the
ES256 signature again costs more than serving a read. A token is looked up by its whole text, so a changed byte is
verified afresh (and refused). Revocation is checked on every use, cached or not (medcity.auth.revocations).
Tokens of an external issuer are not kept: its keys may be withdrawn from the JWKS file at any time."""

from __future__ import annotations

import threading
from datetime import datetime

from medcity.auth.tokens import TokenClaims

CAPACITY = 10_000


class VerifiedTokens:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._claims: dict[str, TokenClaims] = {}
        self._lock = threading.Lock()

    def get(self, token: str, now: datetime) -> TokenClaims | None:
        claims = self._claims.get(token)
        if claims is None or claims.expires <= int(now.timestamp()):  # as the verification: expired at `exp`
            return None
        return claims

    def put(self, token: str, claims: TokenClaims, now: datetime) -> None:
        with self._lock:
            if len(self._claims) >= self.capacity:
                # The expired go first; when none has, the oldest kept (dicts keep insertion order).
                kept = {key: value for key, value in self._claims.items() if value.expires > int(now.timestamp())}
                if len(kept) >= self.capacity:
                    kept = dict(list(kept.items())[self.capacity // 2 :])
                self._claims = kept
            self._claims[token] = claims
