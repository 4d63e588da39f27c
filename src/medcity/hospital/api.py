"""Hospital stays on the FHIR face: the stay rules on every Encounter, Location and Composition write, whichever
door it comes through (see `medcity.hospital.stays`)."""

from __future__ import annotations

from medcity.hospital.stays import check_bed_write, check_composition_write, check_encounter_write
from medcity.kit.hooks import before_write

before_write("Encounter")(check_encounter_write)
before_write("Location")(check_bed_write)
before_write("Composition")(check_composition_write)
