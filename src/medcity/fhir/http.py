"""Request parsing and response shaping shared by the FHIR routes: content types, size limits, ETags, Prefer."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response

from medcity.fhir.outcome import FHIR_JSON, information
from medcity.kit.config import Settings
from medcity.kit.errors import InvalidRequest, TooLarge, UnsupportedMediaType
from medcity.kit.ids import is_valid_id
from medcity.store.repository import StoredResource, check_type

JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
FORM = "application/x-www-form-urlencoded"


async def read_body(request: Request) -> bytes:
    limit = settings_of(request).max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The body is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request) -> dict[str, Any]:
    """The request's FHIR JSON resource; 415 for another format, 400 for anything that is not a JSON object."""
    ctype = content_type(request)
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{ctype[:60] or 'none'}' is not supported: send application/fhir+json"
        )
    raw = await read_body(request)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object (a FHIR resource)")
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise InvalidRequest("The body has no resourceType")
    return data


def check_id(rid: str) -> None:
    if not is_valid_id(rid):
        raise InvalidRequest(f"'{rid[:80]}' is not a valid FHIR id: 1 to 64 characters of A-Z a-z 0-9 - .")


def check_body_type(data: dict[str, Any], rtype: str) -> None:
    check_type(rtype)
    if data["resourceType"] != rtype:
        raise InvalidRequest(f"The body is a {str(data['resourceType'])[:64]}, but the URL is for {rtype}")


def if_match_version(value: str | None) -> int | None:
    """`If-Match: W/"3"` → 3."""
    if not value:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidRequest(f"If-Match '{value[:40]}' is not a version ETag like W/\"3\"")
    return int(tag)


def resource_response(stored: StoredResource, *, status: int = 200, base: str = "",
                      prefer: str | None = None) -> Response:  # fmt: skip
    headers = {
        "ETag": stored.etag,
        "Last-Modified": stored.last_updated,
    }
    if status == 201 or base:
        headers["Location"] = f"{base}/{stored.type}/{stored.id}/_history/{stored.version}"
    body: bytes = stored.content
    if prefer == "return=minimal":
        return Response(status_code=status, headers=headers)
    if prefer == "return=OperationOutcome":
        body = orjson.dumps(information(f"{stored.type}/{stored.id} version {stored.version} stored"))
    return Response(body, status_code=status, headers=headers, media_type=FHIR_JSON)


def json_response(data: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=FHIR_JSON)


def prefer_return(request: Request) -> str | None:
    for part in request.headers.get("prefer", "").split(","):
        part = part.strip()
        if part.startswith("return="):
            return part
    return None


def strict_handling(request: Request) -> bool:
    return "handling=strict" in request.headers.get("prefer", "")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"
