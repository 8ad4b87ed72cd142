"""`verify`: a request captured byte for byte from a real delivery passes; damaged, stale,
forged or incomplete ones fail with the reason (exit code 1)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from cli_support import RawCapture, invoke, new_cli

from promptha_webhooks import signing, signing_standard

SECRET = "whsec_cli_verify_test_secret"


_captures: list[bytes] = []


@pytest.fixture
async def captured(request: pytest.FixtureRequest) -> bytes:
    """The exact bytes of a real delivery of a triggered event (captured once per module: the
    tests only read it, well within the 300 s tolerance)."""
    if not _captures:
        cli = new_cli(request)
        capture = RawCapture()
        await capture.start()
        try:
            with cli.client() as client:
                client.webhooks.create(capture.url, ["fabric.completed"], secret=SECRET)
            result = await cli.run("trigger", "fabric.completed")
            assert result.exit_code == 0, result.output
            _captures.extend(await capture.wait_for(1))
        finally:
            await capture.close()
    return _captures[0]


def split(raw: bytes) -> tuple[list[str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def join(lines: list[str], body: bytes, newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline * 2).encode("latin-1") + body


def set_header(lines: list[str], name: str, value: str | None) -> list[str]:
    kept = [line for line in lines if not line.lower().startswith(name.lower() + ":")]
    return kept if value is None else [*kept, f"{name}: {value}"]


def resign(raw: bytes, timestamp: int, body: bytes | None = None) -> bytes:
    lines, original = split(raw)
    body = original if body is None else body
    lines = set_header(lines, "x-promptha-timestamp", str(timestamp))
    lines = set_header(lines, "x-promptha-signature", signing.sign(SECRET, timestamp, body))
    return join(set_header(lines, "Content-Length", str(len(body))), body)


def verify(raw: bytes, *args: str) -> tuple[int, str]:
    result = invoke(["verify", "--secret", SECRET, *args], input=raw)
    return result.exit_code, result.output


def test_a_real_capture_passes(captured: bytes) -> None:
    assert captured.startswith(b"POST /capture HTTP/1.1\r\n")
    code, output = verify(captured)
    assert code == 0, output
    assert re.search(r"✓ valid: signed \d+ s ago\n", output), output
    assert "x-promptha-event: fabric.completed" in output
    assert re.search(r"x-promptha-delivery-id: dlv_\w+", output)


def test_a_changed_byte_breaks_the_signature(captured: bytes) -> None:
    lines, body = split(captured)
    tampered = body.replace(b'"fabric.completed"', b'"fabric.completeD"')
    assert len(tampered) == len(body) and tampered != body
    code, output = verify(join(lines, tampered))
    assert code == 1
    assert "✗ invalid: signature does not match" in output
    assert "changed after signing, or the secret is not the webhook's" in output


def test_wrong_secret(captured: bytes) -> None:
    result = invoke(["verify", "--secret", "whsec_somebody_elses_secret"], input=captured)
    assert result.exit_code == 1 and "signature does not match" in result.output


def test_stale_timestamp_of_an_authentic_request(captured: bytes) -> None:
    code, output = verify(resign(captured, int(time.time()) - 3600))
    assert code == 1
    assert re.search(r"stale timestamp: timestamp is 360[01]s old", output), output
    assert "the signature itself matches" in output
    assert verify(resign(captured, int(time.time()) - 3600), "--tolerance", "7200")[0] == 0


def test_timestamp_in_the_future(captured: bytes) -> None:
    code, output = verify(resign(captured, int(time.time()) + 900))
    assert code == 1 and "timestamp in the future" in output


def test_missing_signature_header(captured: bytes) -> None:
    lines, body = split(captured)
    code, output = verify(join(set_header(lines, "x-promptha-signature", None), body))
    assert code == 1
    assert "missing header x-promptha-signature" in output
    assert "dropped x-promptha-signature" in output


def test_a_request_without_any_promptha_header(captured: bytes) -> None:
    code, output = verify(b'POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"a":1}')
    assert code == 1
    assert "missing header x-promptha-timestamp" in output
    assert "not sent by Promptha Webhooks" in output


def test_malformed_timestamp_and_signature(captured: bytes) -> None:
    lines, body = split(captured)
    code, output = verify(join(set_header(lines, "x-promptha-timestamp", "soon"), body))
    assert code == 1 and "unsigned decimal integer" in output
    code, output = verify(join(set_header(lines, "x-promptha-signature", "abc"), body))
    assert code == 1 and "64 hex characters" in output


def test_a_reformatted_body_is_diagnosed(captured: bytes) -> None:
    lines, body = split(captured)
    pretty = json.dumps(json.loads(body), indent=2).encode()
    lines = set_header(lines, "Content-Length", str(len(pretty)))
    code, output = verify(join(lines, pretty))
    assert code == 1
    assert "re-formatted after signing" in output


def test_a_pasted_capture_with_lf_and_a_trailing_newline_passes(captured: bytes) -> None:
    lines, body = split(captured)
    code, output = verify(join(lines, body + b"\n", newline="\n"))
    assert code == 0, output
    assert "lines end in LF" in output and "after the" in output


def test_trailing_newline_without_content_length_is_diagnosed(captured: bytes) -> None:
    lines, body = split(captured)
    code, output = verify(join(set_header(lines, "Content-Length", None), body + b"\n"))
    assert code == 1 and "without its trailing white space" in output


def test_chunked_capture(captured: bytes) -> None:
    lines, body = split(captured)
    lines = set_header(set_header(lines, "Content-Length", None), "Transfer-Encoding", "chunked")
    half = len(body) // 2
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:half], body[half:])
    )
    code, output = verify(join(lines, chunked + b"0\r\n\r\n"))
    assert code == 0, output


def test_rotation_accepts_any_of_several_secrets(captured: bytes) -> None:
    result = invoke(["verify", "-s", "whsec_the_new_one_0000", "-s", SECRET], input=captured)
    assert result.exit_code == 0, result.output
    assert "with secret #2" in result.output


def test_json_output_and_file_argument(captured: bytes, tmp_path: Path) -> None:
    request = tmp_path / "request.http"
    request.write_bytes(captured)
    result = invoke(["--json", "verify", "--secret", SECRET, str(request)])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is True and verdict["error"] is None and verdict["secret"] == 1
    assert verdict["headers"]["x-promptha-event"] == "fabric.completed"

    lines, body = split(captured)
    request.write_bytes(join(set_header(lines, "x-promptha-signature", None), body))
    failed = invoke(["--json", "verify", "--secret", SECRET, str(request)])
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["error"] == "missing_header"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "nothing to read"),
        (b"hello there\r\n\r\n", "not an HTTP request line"),
        (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", "is not 'Name: value'"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "chunk"),
    ],
)
def test_unreadable_input(raw: bytes, reason: str) -> None:
    code, output = verify(raw)
    assert code == 1
    assert "cannot read the request" in output and reason in output


def test_a_secret_is_required() -> None:
    result = invoke(["verify"], input=b"POST / HTTP/1.1\r\n\r\n")
    assert result.exit_code == 2 and "--secret" in result.output


def standard_capture(keys: list[str], timestamp: int, event_id: str = "evt_std1") -> bytes:
    body = b'{"event":"credits.low","data":{"remaining":5,"eventId":"evt_std1"},"timestamp":1}'
    signature = signing_standard.sign(keys, event_id, timestamp, body)
    lines = [
        "POST /hooks HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"webhook-id: {event_id}",
        f"webhook-timestamp: {timestamp}",
        f"webhook-signature: {signature}",
        f"Content-Length: {len(body)}",
    ]
    return join(lines, body)


def test_standard_webhooks_requests_are_detected_and_verified_with_several_secrets() -> None:
    old, new = signing_standard.generate_secret(), signing_standard.generate_secret()
    raw = standard_capture([new, old], int(time.time()))
    for args in (["-s", old], ["-s", new], ["-s", SECRET, "-s", old, "--format", "standard"]):
        result = invoke(["verify", *args], input=raw)
        assert result.exit_code == 0, result.output
        assert "valid" in result.output
    result = invoke(["--json", "verify", "-s", SECRET, "-s", old], input=raw)
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["valid"] and verdict["secret"] == 2
    assert any("not a Standard Webhooks key" in note for note in verdict["notes"])


def test_standard_webhooks_failures_say_why() -> None:
    secret = signing_standard.generate_secret()
    now = int(time.time())
    wrong = invoke(
        ["--json", "verify", "-s", signing_standard.generate_secret()],
        input=standard_capture([secret], now),
    )
    assert wrong.exit_code == 1 and json.loads(wrong.output)["error"] == "invalid_signature"
    stale = invoke(["--json", "verify", "-s", secret], input=standard_capture([secret], now - 900))
    assert json.loads(stale.output)["error"] == "stale_timestamp"
    only_promptha = invoke(
        ["--json", "verify", "-s", SECRET], input=standard_capture([secret], now)
    )
    assert json.loads(only_promptha.output)["error"] == "invalid_secret"
    lines, body = split(standard_capture([secret], now))
    no_id = join(set_header(lines, "webhook-id", None), body)
    missing = invoke(["--json", "verify", "-s", secret], input=no_id)
    assert json.loads(missing.output)["error"] == "missing_header"
    forced = invoke(
        ["--json", "verify", "-s", secret, "--format", "promptha"],
        input=standard_capture([secret], now),
    )
    assert json.loads(forced.output)["error"] == "missing_header"
    hostile = join(set_header(lines, "webhook-signature", "v1,AAAA " * 40), body)
    junk = invoke(["--json", "verify", "-s", secret], input=hostile)
    assert junk.exit_code == 1 and json.loads(junk.output)["error"] == "invalid_signature"
