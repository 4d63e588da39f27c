"""Shared infrastructure: settings, database engine, errors, ids, clock, i18n, hooks. Depends on nothing above."""
