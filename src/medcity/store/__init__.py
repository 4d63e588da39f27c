"""Versioned FHIR resources with a typed search index, on SQLite or PostgreSQL. Knows no domain."""
