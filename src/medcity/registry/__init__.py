"""Registers of organisations, staff and patients: identifiers, attachment, the master patient index."""
