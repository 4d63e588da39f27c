"""The revoked access tokens, held in memory: checking a token against the database on every request cost more than
the request itself.

Each process re-reads the (short) list of revoked, unexpired tokens at most once a second, and a token this process
revokes is refused by it at once. A token revoked through another worker is therefore refused within a second.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from medcity.auth.tables import revoked_token
from medcity.kit.db import PerEngine, reading

REFRESH_SECONDS = 1.0


class Revocations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stored: frozenset[str] = frozenset()
        # Revoked here, kept until they expire: a reload that ran before the revoking transaction committed must
        # not forget them.
        self._local: dict[str, int] = {}
        self._read_at = float("-inf")
        self._reading = threading.Lock()
        self._adding = threading.Lock()

    def due(self) -> bool:
        return time.monotonic() - self._read_at >= REFRESH_SECONDS

    def refresh(self) -> None:
        """Re-read the revoked tokens; a caller that finds another thread at it goes on with the list it has."""
        if not self._reading.acquire(blocking=False):
            return
        try:
            started = time.monotonic()
            now = int(datetime.now(UTC).timestamp())
            with reading(self.engine) as conn:
                stored = frozenset(conn.execute(select(revoked_token.c.jti).where(revoked_token.c.expires >= now))
                                   .scalars())  # fmt: skip
            with self._adding:
                self._local = {jti: expires for jti, expires in self._local.items() if expires >= now}
            self._stored, self._read_at = stored, started
        finally:
            self._reading.release()

    def add(self, jti: str, expires: int) -> None:
        with self._adding:  # not lost to a reload that is dropping the expired ones meanwhile
            self._local = {**self._local, jti: expires}

    def __contains__(self, jti: object) -> bool:
        return jti in self._stored or jti in self._local


of = PerEngine(Revocations)
