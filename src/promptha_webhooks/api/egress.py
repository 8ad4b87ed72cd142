"""`GET /v1/ips`: the addresses deliveries come from (egress.py), public and cacheable, with an
ETag (its version) that answers `If-None-Match` with 304. `HEAD` answers the same headers with
no body, for caches and monitors that revalidate with it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from promptha_webhooks.egress import EgressList
from promptha_webhooks.models import EgressAddresses

router = APIRouter(tags=["egress"])

PATH = "/v1/ips"
CACHE_MAX_AGE_S = 300
CACHE_CONTROL = f"public, max-age={CACHE_MAX_AGE_S}"
# An If-None-Match longer than this is not a list of our tags: answered in full.
MAX_IF_NONE_MATCH_LENGTH = 4096


@router.head(PATH, include_in_schema=False)  # one operation in the OpenAPI document: GET
@router.get(
    PATH,
    response_model=EgressAddresses,
    responses={304: {"description": "If-None-Match names the current version"}},
)
async def ips(request: Request) -> Response:
    """The addresses and CIDRs deliveries come from, for receivers' allow-lists. Public (no
    key). `version` changes exactly when `addresses` does; cache it for five minutes, and send
    its ETag back in `If-None-Match`."""
    egress: EgressList = request.app.state.egress
    etag = f'"{egress.version}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), egress.version):
        return Response(status_code=304, headers=headers)
    body = EgressAddresses(
        version=egress.version, updated_at=egress.updated_at, addresses=list(egress.addresses)
    )
    return JSONResponse(body.model_dump(mode="json"), headers=headers)


def _matches(if_none_match: str, version: str) -> bool:
    """Whether If-None-Match names `version` (weak comparison, as RFC 9110 says for it) or is
    `*`."""
    if not if_none_match or len(if_none_match) > MAX_IF_NONE_MATCH_LENGTH:
        return False
    for tag in (part.strip() for part in if_none_match.split(",")):
        if tag == "*" or tag.removeprefix("W/") == f'"{version}"':
            return True
    return False
