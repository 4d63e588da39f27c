"""Regions exchange records: another region asks for a patient's summary by national identifier (api.py), and
this one asks its peers (client.py, pages.py)."""
