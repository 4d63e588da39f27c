"""The access-control tables, on the store's `metadata` so one Alembic migration covers them.

Like every other table, `partition` (the region) leads each key: a username is unique within a region only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from medcity.store.schema import ID, INSTANT, PARTITION, TYPE, metadata

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

# OAuth clients. A system client (SMART Backend Services) has `user_id` (the app_user, role system, whose
# organisation it acts for) and a JWKS it signs its private_key_jwt assertions with. A SMART app acts for the
# logged-in user instead: it has `redirect_uris`, and a JWKS only when it is a confidential client.
oauth_client = Table(
    "oauth_client",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("user_id", ID, nullable=True),
    Column("jwks", Text, nullable=True),  # JSON Web Key Set with the client's public keys; None: a public client
    Column("scope", String(1024), nullable=False),  # the most it may ask for
    Column("redirect_uris", Text, nullable=True),  # space separated, compared exactly
    Column("name", String(256), nullable=True),  # shown on the consent screen
    PrimaryKeyConstraint("partition", "client_id", name="pk_oauth_client"),
)

# The `jti` of every client assertion accepted, until it would have expired: a replayed assertion is refused.
oauth_assertion = Table(
    "oauth_assertion",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("jti", String(256), nullable=False),
    Column("expires", Integer, nullable=False),  # epoch seconds
    PrimaryKeyConstraint("partition", "client_id", "jti", name="pk_oauth_assertion"),
)
Index("ix_oauth_assertion_expires", oauth_assertion.c.partition, oauth_assertion.c.expires)

# Authorization codes (code flow + PKCE): only the code's SHA-256 is kept; single use, bound to the client, the
# redirect URI and the PKCE challenge. `access_jti` remembers the token it bought, revoked if the code is replayed.
oauth_code = Table(
    "oauth_code",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(64), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("user_id", ID, nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("challenge", String(128), nullable=False),
    Column("scope", String(1024), nullable=False),
    Column("patient", ID, nullable=True),  # launch context
    Column("expires", Integer, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    Column("access_jti", String(64), nullable=True),
    Column("access_expires", Integer, nullable=True),
    Column("nonce", String(256), nullable=True),  # OpenID Connect: echoed in the id_token
    PrimaryKeyConstraint("partition", "id", name="pk_oauth_code"),
)

# Refresh tokens of the code flow (offline_access): only the hash is kept; each use rotates it, and using one that
# was already rotated away (a stolen copy) revokes its whole family.
refresh_token = Table(
    "refresh_token",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(64), nullable=False),
    Column("family", String(64), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("user_id", ID, nullable=False),
    Column("scope", String(1024), nullable=False),
    Column("patient", ID, nullable=True),
    Column("expires", Integer, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("partition", "id", name="pk_refresh_token"),
)
Index("ix_refresh_token_family", refresh_token.c.partition, refresh_token.c.family)

# Adult proxies wait here until the represented person confirms with the one-time code (argon2id hash only).
proxy_code = Table(
    "proxy_code",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", ID, nullable=False),
    Column("user_id", ID, nullable=False),  # the proxy's app_user
    Column("patient", ID, nullable=False),  # the represented person
    Column("related_person", ID, nullable=False),
    Column("code_hash", String(256), nullable=False),
    Column("expires", INSTANT, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("partition", "id", name="pk_proxy_code"),
)
Index("ix_proxy_code_patient", proxy_code.c.partition, proxy_code.c.patient)

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

# Who treats whom (see care.py), derived from the records that make a care relationship: one row per record, actor
# it names and patient, with the end of the latest moment the record covers. A patient's attachment to an
# organisation is a row that never ends; a break-glass is a row of its user from the moment it was recorded. The
# policy asks it "is this patient in my care" (one index probe) and "which of these rows' patients are" (a probe
# per row, or the care set hashed once when the rows are many). Kept in the writing transaction by
# `care_links.keep_care_links`, so it never says more than the resources do.
care_link = Table(
    "care_link",
    metadata,
    Column("partition", PARTITION, nullable=False),
    # Patient (an attachment), Appointment, Encounter, ServiceRequest, or AuditEvent (a break-glass)
    Column("source_type", TYPE, nullable=False),
    Column("source_id", ID, nullable=False),
    # "Organization/…", "Practitioner/…", "PractitionerRole/…", or for a break-glass "User/" and the username
    Column("actor", String(160), nullable=False),
    Column("patient", ID, nullable=False),
    Column("until", BigInteger, nullable=False),  # epoch milliseconds
    PrimaryKeyConstraint("partition", "source_type", "source_id", "actor", name="pk_care_link"),
)
Index("ix_care_link_actor", care_link.c.partition, care_link.c.actor, care_link.c.until, care_link.c.patient)
Index("ix_care_link_patient", care_link.c.partition, care_link.c.patient, care_link.c.actor, care_link.c.until)
