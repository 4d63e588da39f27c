"""The situation centre's figures that are not any one workflow's: morbidity (who falls ill with what, where, and
what is rising). Aggregates only, with small counts suppressed: never a patient."""
