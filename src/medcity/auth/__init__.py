"""Who is calling, may they, and an AuditEvent for every touch of patient data: the one choke point."""
