"""The access-control tables, on the store's `metadata` so one Alembic migration covers them.

Like every other table, `partition` (the region) leads each key: a username is unique within a region only.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text, UniqueConstraint

from medcity.store.schema import ID, INSTANT, PARTITION, metadata

app_user = Table(
    "app_user",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", ID, nullable=False),
    Column("username", String(128), nullable=False),
    Column("password_hash", String(256), nullable=True),  # None: no password login (a system client)
    Column("role", String(32), nullable=False),
    Column("practitioner", ID, nullable=True),
    Column("patient", ID, nullable=True),
    Column("organization", ID, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", INSTANT, nullable=True),
    Column("created", INSTANT, nullable=False),
    PrimaryKeyConstraint("partition", "id", name="pk_app_user"),
    UniqueConstraint("partition", "username", name="uq_app_user_username"),
)

# Revoked access tokens by their jti, kept until they would have expired anyway.
revoked_token = Table(
    "revoked_token",
    metadata,
    Column("jti", String(64), nullable=False),
    Column("expires", Integer, nullable=False),  # epoch seconds, so expired rows can be purged by range
    PrimaryKeyConstraint("jti", name="pk_revoked_token"),
)
Index("ix_revoked_token_expires", revoked_token.c.expires)

# SMART Backend Services clients: a system registered with its public JWK, authenticating by private_key_jwt.
oauth_client = Table(
    "oauth_client",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("user_id", ID, nullable=False),  # the app_user (role system) whose organisation and role it acts as
    Column("jwks", Text, nullable=False),  # JSON Web Key Set with the client's public keys
    Column("scope", String(1024), nullable=False),  # the most it may ask for
    PrimaryKeyConstraint("partition", "client_id", name="pk_oauth_client"),
)

# One row per touch of data by an authenticated caller, refused attempts included. Kept apart from the FHIR
# store until AuditEvent is written inside the request's own transaction (see docs/security.md).
audit_log = Table(
    "audit_log",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(40), nullable=False),
    Column("recorded", INSTANT, nullable=False),
    Column("username", String(128), nullable=True),
    Column("role", String(32), nullable=True),
    Column("organization", ID, nullable=True),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(64), nullable=True),
    Column("resource_id", ID, nullable=True),
    Column("patient", ID, nullable=True),
    Column("outcome", String(16), nullable=False),  # allowed | refused
    Column("source", String(64), nullable=True),
    PrimaryKeyConstraint("partition", "id", name="pk_audit_log"),
)
Index("ix_audit_log_patient", audit_log.c.partition, audit_log.c.patient, audit_log.c.recorded)
Index("ix_audit_log_user", audit_log.c.partition, audit_log.c.username, audit_log.c.recorded)

# Browser sessions (web login). The cookie holds a random 32-byte token; only its SHA-256 is stored, so a copy of
# this table lets nobody in. `csrf` is the session's synchroniser token, embedded in every form it posts.
web_session = Table(
    "web_session",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(64), nullable=False),  # hex SHA-256 of the cookie's token
    Column("user_id", ID, nullable=False),
    Column("created", INSTANT, nullable=False),
    Column("expires", INSTANT, nullable=False),
    Column("last_seen", INSTANT, nullable=False),
    Column("csrf", String(64), nullable=False),
    PrimaryKeyConstraint("partition", "id", name="pk_web_session"),
)
Index("ix_web_session_expires", web_session.c.partition, web_session.c.expires)
Index("ix_web_session_user", web_session.c.partition, web_session.c.user_id)
