"""`verify --secret … < request`: check a captured delivery's signature and say exactly what is
wrong with it: missing header, stale timestamp, or which change broke the signature. Both
formats: promptha (x-promptha-signature, and -previous during a rotation) and Standard
Webhooks (webhook-signature), told by the headers or chosen with --format."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from promptha_webhooks import canonical_json, signature_headers, signing, signing_standard
from promptha_webhooks.cli.context import EXIT_FAILURE, output_of
from promptha_webhooks.cli.http_capture import CapturedRequest, CaptureError, parse_request
from promptha_webhooks.cli.output import Output

PANEL = "Tools"
STANDARD_ID = signature_headers.STANDARD_ID_HEADER
STANDARD_TIMESTAMP = signature_headers.STANDARD_TIMESTAMP_HEADER
SECRET_ENV = "PROMPTHA_WEBHOOKS_SECRET"
# Accepting any age: used to tell "old but authentic" from "old and forged".
_ANY_AGE = 10**12
_DETAIL_HEADERS = (
    signature_headers.EVENT_HEADER,
    signature_headers.EVENT_ID_HEADER,
    signature_headers.DELIVERY_ID_HEADER,
    signature_headers.ATTEMPT_HEADER,
    signature_headers.TEST_HEADER,
)


class FormatChoice(enum.StrEnum):
    """--format: which signature format to check (auto: told by the headers)."""

    AUTO = "auto"
    PROMPTHA = "promptha"
    STANDARD = "standard"


@dataclass(frozen=True)
class Verdict:
    """The outcome: `error` is None when valid, else a short kind (missing_header, …)."""

    valid: bool
    message: str
    error: str | None = None
    hints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secret_index: int | None = None
    age_s: int | None = None
    details: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "error": self.error,
            "message": self.message,
            "hints": self.hints,
            "notes": self.notes,
            "secret": self.secret_index,
            "ageSeconds": self.age_s,
            "headers": self.details,
        }


def check(
    request: CapturedRequest,
    secrets: list[str],
    *,
    tolerance: int,
    now: int | None = None,
    choice: FormatChoice = FormatChoice.AUTO,
) -> Verdict:
    """Verify `request` in the chosen (or detected) format and explain a failure."""
    current = int(time.time()) if now is None else now
    headers = request.header_map()
    details = {name: headers[name] for name in _DETAIL_HEADERS if name in headers}
    base: dict[str, Any] = {"notes": list(request.notes), "details": details}
    detected = signature_headers.detect_format(set(headers))
    if choice is FormatChoice.STANDARD or (
        choice is FormatChoice.AUTO and detected is signature_headers.SignatureFormat.STANDARD
    ):
        return _check_standard(request, secrets, tolerance=tolerance, now=current, base=base)
    duplicated = [
        name
        for name in (signing.SIGNATURE_HEADER, signing.TIMESTAMP_HEADER)
        if len(request.values(name)) > 1
    ]
    if duplicated:
        base["notes"].append(f"{', '.join(duplicated)} appear more than once: the first is used")
    try:
        signing.verify(request.body, headers, secrets, tolerance=tolerance, now=current)
    except signing.MissingHeaderError as exc:
        return Verdict(
            False,
            f"missing header {exc.header}",
            "missing_header",
            _missing_hints(exc.header, headers),
            **base,
        )
    except signing.InvalidTimestampError as exc:
        return Verdict(False, str(exc), "invalid_timestamp", **base)
    except signing.TimestampOutOfToleranceError as exc:
        return _out_of_tolerance(request, headers, secrets, exc, base)
    except signing.InvalidSignatureError as exc:
        return Verdict(
            False,
            str(exc),
            "invalid_signature",
            _signature_hints(request, headers, secrets),
            **base,
        )
    timestamp = int(headers[signing.TIMESTAMP_HEADER])
    return Verdict(
        True,
        "valid signature",
        secret_index=_matching_secret(request.body, headers, secrets),
        age_s=current - timestamp,
        **base,
    )


def _check_standard(
    request: CapturedRequest, secrets: list[str], *, tolerance: int, now: int, base: dict[str, Any]
) -> Verdict:
    """A Standard Webhooks request: webhook-id, webhook-timestamp, webhook-signature."""
    headers = request.header_map()
    for name in (STANDARD_ID, STANDARD_TIMESTAMP):
        if name in headers:
            base["details"][name] = headers[name]
    usable: list[tuple[int, str]] = []
    for index, secret in enumerate(secrets, start=1):
        try:
            signing_standard.parse_key(secret)
        except signing_standard.InvalidSecretError as exc:
            base["notes"].append(f"--secret #{index} is not a Standard Webhooks key: {exc}")
            continue
        usable.append((index, secret))
    if not usable:
        return Verdict(
            False,
            "no --secret is a Standard Webhooks key (whsec_<base64> or whpk_<base64>)",
            "invalid_secret",
            **base,
        )
    keys = [secret for _, secret in usable]
    try:
        signing_standard.verify(request.body, headers, keys, tolerance=tolerance, now=now)
    except signing.MissingHeaderError as exc:
        return Verdict(False, f"missing header {exc.header}", "missing_header", **base)
    except signing.TimestampOutOfToleranceError as exc:
        kind = "stale_timestamp" if exc.age_s > 0 else "future_timestamp"
        return Verdict(False, str(exc), kind, age_s=exc.age_s, **base)
    except signing.InvalidTimestampError as exc:
        return Verdict(False, str(exc), "invalid_timestamp", **base)
    except signing.InvalidSignatureError as exc:
        hints = [
            "the signed content is '<webhook-id>.<webhook-timestamp>.<body>' with the raw "
            "body bytes; the secret is the webhook's whsec_ secret (base64-decoded as the key)"
        ]
        return Verdict(False, str(exc), "invalid_signature", hints, **base)
    except signing.VerificationError as exc:
        return Verdict(False, str(exc), "invalid_header", **base)
    timestamp = int(headers[STANDARD_TIMESTAMP])
    matched = None
    for index, secret in usable:
        try:
            signing_standard.verify(request.body, headers, secret, tolerance=_ANY_AGE, now=now)
        except signing.VerificationError:
            continue
        matched = index
        break
    return Verdict(True, "valid signature", secret_index=matched, age_s=now - timestamp, **base)


def _missing_hints(header: str, headers: dict[str, str]) -> list[str]:
    ours = sorted(name for name in headers if name.startswith("x-promptha-"))
    if not ours:
        return ["no x-promptha-* header at all: this request was not sent by Promptha Webhooks"]
    return [
        f"other Promptha headers are there ({', '.join(ours)}): something between the service "
        f"and the receiver (a proxy, or the capture) dropped {header}"
    ]


def _out_of_tolerance(
    request: CapturedRequest,
    headers: dict[str, str],
    secrets: list[str],
    exc: signing.TimestampOutOfToleranceError,
    base: dict[str, Any],
) -> Verdict:
    kind = "stale_timestamp" if exc.age_s > 0 else "future_timestamp"
    label = "stale timestamp" if exc.age_s > 0 else "timestamp in the future"
    if _matching_secret(request.body, headers, secrets) is not None:
        hint = (
            "the signature itself matches: the request is authentic but was sent long ago "
            "(a replay?) or a clock is wrong; check this machine's time"
        )
    else:
        hint = "the signature does not match the body either"
    return Verdict(False, f"{label}: {exc}", kind, [hint], age_s=exc.age_s, **base)


def _signature_hints(
    request: CapturedRequest, headers: dict[str, str], secrets: list[str]
) -> list[str]:
    signature = headers.get(signing.SIGNATURE_HEADER, "")
    if len(signature) != 64:
        return [f"{signing.SIGNATURE_HEADER} should be 64 hex characters of HMAC-SHA256"]
    for variant, what in _body_variants(request.body):
        if _matching_secret(variant, headers, secrets) is not None:
            return [f"the signature matches the body {what}: verify the raw bytes as received"]
    hints = [
        f"the signed message is '<timestamp>.<body>': '{headers[signing.TIMESTAMP_HEADER]}.' "
        f"followed by the {len(request.body)}-byte body; either a byte of the body or the "
        "timestamp changed after signing, or the secret is not the webhook's "
        "(see: promptha-webhooks webhooks secret wh_…)"
    ]
    if any(secret != secret.strip() for secret in secrets):
        hints.append("a --secret has leading or trailing white space")
    return hints


def _body_variants(body: bytes) -> list[tuple[bytes, str]]:
    """What captures and frameworks commonly do to a body, undone."""
    variants: list[tuple[bytes, str]] = []
    stripped = body.rstrip(b"\r\n \t")
    if stripped != body:
        variants.append((stripped, "without its trailing white space (added by the capture)"))
    try:
        canonical = canonical_json.dumps(canonical_json.loads(body))
    except canonical_json.CanonicalJSONError:
        canonical = body
    if canonical not in (body, stripped):
        variants.append(
            (canonical, "in canonical form: the captured body was re-formatted after signing")
        )
    if b"\r\n" in body:
        variants.append((body.replace(b"\r\n", b"\n"), "with LF line ends instead of CRLF"))
    return variants


def _matching_secret(body: bytes, headers: dict[str, str], secrets: list[str]) -> int | None:
    """1-based index of the secret that signed `body`, ignoring the timestamp's age."""
    timestamp = headers.get(signing.TIMESTAMP_HEADER, "")
    if not timestamp.isdigit():
        return None
    for index, secret in enumerate(secrets, start=1):
        try:
            signing.verify(body, headers, secret, tolerance=_ANY_AGE, now=int(timestamp))
        except (signing.VerificationError, ValueError):
            continue
        return index
    return None


def _read(source: Path | None) -> bytes:
    if source is None or str(source) == "-":
        return typer.get_binary_stream("stdin").read()
    return source.read_bytes()


def verify(
    ctx: typer.Context,
    secret: Annotated[
        list[str],
        typer.Option(
            "--secret",
            "-s",
            help="The webhook's signing secret; repeat for rotation (any may match)",
            envvar=SECRET_ENV,
            show_default=False,
        ),
    ],
    request_file: Annotated[
        Path | None,
        typer.Argument(
            help="File with the captured request (default: stdin)",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    tolerance: Annotated[
        int, typer.Option(help="Maximum age of the timestamp, seconds", min=0)
    ] = signing.DEFAULT_TOLERANCE_S,
    signature_format: Annotated[
        FormatChoice,
        typer.Option(
            "--format",
            help="Signature format: promptha, standard (Standard Webhooks), or auto (by headers)",
        ),
    ] = FormatChoice.AUTO,
) -> None:
    """Check a captured webhook request's signature; say exactly what is wrong.

    The request is raw HTTP (request line, headers, blank line, body), on
    stdin or in a file. Exit code 0 when valid, 1 otherwise.

    Example:
      promptha-webhooks verify --secret whsec_… < request.http
      promptha-webhooks verify -s whsec_new… -s whsec_old… --format standard req.http
    """
    output = output_of(ctx)
    secrets = [s for s in secret if s]
    if not secrets:
        raise typer.BadParameter("give the webhook's secret", param_hint="--secret")
    try:
        verdict = check(
            parse_request(_read(request_file)),
            secrets,
            tolerance=tolerance,
            choice=signature_format,
        )
    except CaptureError as exc:
        verdict = Verdict(False, f"cannot read the request: {exc}", "unreadable_request")
    _report(output, verdict, several_secrets=len(secrets) > 1)
    if not verdict.valid:
        raise typer.Exit(EXIT_FAILURE)


def _report(output: Output, verdict: Verdict, *, several_secrets: bool) -> None:
    if output.json_mode:
        output.json(verdict.as_json())
        return
    if verdict.valid:
        which = f" with secret #{verdict.secret_index}" if several_secrets else ""
        output.show(Text.assemble(("✓ valid", "green"), f": signed {verdict.age_s} s ago{which}"))
        for name, value in verdict.details.items():
            output.show(f"  {name}: {value}")
    else:
        output.show(Text.assemble(("✗ invalid", "red"), f": {verdict.message}"))
        for hint in verdict.hints:
            output.show(f"  → {hint}")
    for note in verdict.notes:
        output.show(Text(f"  note: {note}", style="dim"))


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel=PANEL)(verify)
