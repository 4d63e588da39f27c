"""Referrals: to a specialist, to another institution, for planned hospitalisation (ServiceRequest, category
referral), their lifecycle as the sender, the patient and the receiving side see it, and the receiving worklist."""
