"""The doctor's workstation: the day list, the visit (an Encounter), its protocol with vitals and diagnosis,
signing in one transaction, and corrections as new versions with a Provenance record."""
