"""Hospitals: admission (from a referral or by emergency) into a ward and bed, transfer, discharge with a signed
discharge summary, the ward view, and the attached polyclinic's follow-up worklist."""
