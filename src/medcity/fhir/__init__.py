"""FHIR R4 REST face at /fhir: thin over the store and the domain operations; no SQL, no business rules."""
