"""The synthetic demo city: a deterministic population with its clinics, staff and two years of history."""
