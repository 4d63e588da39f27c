"""The laboratory's rules on every FHIR write (`medcity.kit.hooks`): results, reports and samples are checked by
`rules`, and a released result sets off its alerts and notices (`notify`) in the same transaction."""

from __future__ import annotations

from typing import Any

from medcity.kit.hooks import before_write, write_interceptor
from medcity.lab import notify, rules
from medcity.lab.service import ENTERED_BY, SECOND_PERSON, extension_value
from medcity.orders.errors import Refusal
from medcity.store.repository import JSON, StoredResource, Tx


@before_write("Observation")
def observation_rules(tx: Tx, observation: JSON) -> JSON:
    observation = rules.check_observation(tx, observation)
    notify.on_observation(tx, observation)
    return observation


@before_write("DiagnosticReport")
def report_rules(tx: Tx, report: JSON) -> JSON:
    report = rules.check_report(tx, report)
    notify.on_report(tx, report)
    return report


@before_write("Specimen")
def specimen_rules(tx: Tx, specimen: JSON) -> JSON:
    return rules.check_specimen(tx, specimen)


@write_interceptor("DiagnosticReport", "update")
def second_person(tx: Tx, report: JSON, principal: Any) -> StoredResource | None:
    """Whoever entered a report's results does not also release them: the four-eyes rule of the laboratory."""
    rid = report.get("id")
    stored = tx.current("DiagnosticReport", rid) if isinstance(rid, str) else None
    username = getattr(principal, "username", None)
    if (
        stored is not None
        and username
        and report.get("status") in rules.FINAL
        and stored.resource.get("status") not in rules.FINAL
        and extension_value(stored.resource, ENTERED_BY) == username
    ):
        raise Refusal(SECOND_PERSON)
    return None
