"""The visit's refusals (worded for both faces by `medcity.kit.errors`), with the FHIR issue code and the form
field at fault."""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import Issue, MedcityError
from medcity.kit.i18n import N_
from medcity.terminology import service as terminology
from medcity.terminology.catalogue import BLOCK, CHAPTER, load


class VisitError(MedcityError):
    """A visit rule refused. `text` % `values` is the English message; `field` names the input at fault."""

    def __init__(self, text: str, values: dict[str, Any], *, status: int, code: str, field: str | None = None) -> None:
        super().__init__(text, status=status, **values)
        self.issues = [Issue(code=code, diagnostics=self.diagnostics, expression=[field] if field else [])]
        self.field = field


def conflict(text: str, **values: object) -> VisitError:
    return VisitError(text, values, status=409, code="conflict")


def forbidden(text: str, **values: object) -> VisitError:
    return VisitError(text, values, status=403, code="forbidden")


def unprocessable(text: str, *, field: str | None = None, **values: object) -> VisitError:
    return VisitError(text, values, status=422, code="processing", field=field)


def diagnosis_code(text: str) -> str:
    """The ICD-10 code a diagnosis may carry, from what the doctor typed ("j06.9", "J069"); a chapter, a block,
    a withdrawn or an unknown code is refused with the reason."""
    typed = text.strip()
    if not typed:
        raise unprocessable(N_("Choose a diagnosis (an ICD-10 code)"), field="diagnosis")
    code = terminology.normalize_code(typed) or typed.upper()
    concept = load().get(code)
    if concept is None:
        raise unprocessable(N_("%(code)s is not an ICD-10 code"), field="diagnosis", code=typed[:20])
    if concept.kind in (CHAPTER, BLOCK):
        raise unprocessable(
            N_("%(code)s is a chapter or block of ICD-10, not a diagnosis: choose a three- or four-character rubric"),
            field="diagnosis",
            code=code,
        )
    if not concept.active:
        raise unprocessable(
            N_("%(code)s was withdrawn from ICD-10: choose a current code"), field="diagnosis", code=code
        )
    return code
