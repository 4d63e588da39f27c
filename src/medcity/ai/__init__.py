"""Diagnosis assistant: Russian complaint text → ranked ICD-10 codes (`service.suggest`), its FHIR operation
`Condition/$suggest` (registered on import of `medcity.ai.api`), CLI (`commands`) and feedback log (`tables`)."""
