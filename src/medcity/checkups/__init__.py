"""Preventive check-ups of adults: who is due for диспансеризация or a preventive examination this year, the
polyclinic's worklist and its invitations, and the patient's own line in the portal."""
