"""The one patient record: the whole history across institutions ($everything) and its essentials ($summary)."""
