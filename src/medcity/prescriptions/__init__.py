"""E-prescriptions: a doctor prescribes (MedicationRequest with a prescription number), any pharmacy dispenses it
once (MedicationDispense, the prescription completed in the same transaction), the patient follows it."""
