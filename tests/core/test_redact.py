"""The redactor: `api_key=` in any URL, registered secrets anywhere, structlog events, stdlib log records."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
import structlog

from betbot.redact import (
    RedactingFilter,
    install_logging_filters,
    redact,
    redact_processor,
    redact_secret,
    register_secret,
    registered_secrets,
    unregister_secret,
)

SECRET = "k3y/with+odd=chars&more"


@pytest.fixture
def secret():
    register_secret(SECRET)
    yield SECRET
    unregister_secret(SECRET)


@pytest.mark.parametrize(("text", "expected"), [
    ("https://duckdice.io/api/dice/play?api_key=abc123", "https://duckdice.io/api/dice/play?api_key=***"),
    ("GET /bot/stats/DOGE?api_key=abc123&x=1 HTTP/1.1", "GET /bot/stats/DOGE?api_key=***&x=1 HTTP/1.1"),
    ("url 'http://h/p?a=1&api_key=abc' failed", "url 'http://h/p?a=1&api_key=***' failed"),
    ('{"url": "http://h/p?api_key=abc"}', '{"url": "http://h/p?api_key=***"}'),
    ("see <http://h/?api_key=abc>", "see <http://h/?api_key=***>"),
    ("(http://h/?api_key=abc)", "(http://h/?api_key=***)"),
    ("API_KEY=abc and api_key%3Dabc", "API_KEY=*** and api_key%3D***"),
    ("api_key=", "api_key=***"),
    ("nothing to see", "nothing to see"),
    ("", ""),
])
def test_redact_api_key_param(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_registered_secret_is_scrubbed_everywhere(secret: str) -> None:
    assert redact(f"the key is {secret}!") == "the key is ***!"
    encoded = httpx.URL("http://h/", params={"k": secret}).query.decode()
    assert secret not in redact(encoded)
    assert "k3y" not in redact(encoded)
    assert secret in registered_secrets()


def test_short_secrets_are_not_registered() -> None:
    register_secret("ab")
    assert "ab" not in registered_secrets()
    assert redact("abc") == "abc"


def test_redact_secret() -> None:
    assert redact_secret("x TOKEN y TOKEN", "TOKEN") == "x *** y ***"
    assert redact_secret("a%2Fb", "a/b") == "***"
    assert redact_secret("text", "") == "text"


def test_httpx_exception_text_is_redacted() -> None:
    request = httpx.Request("GET", "https://duckdice.io/api/bot/user-info", params={"api_key": "abc123"})
    exc = httpx.ConnectError(f"failed for url {request.url}", request=request)
    assert "abc123" not in redact(str(exc))


def test_structlog_processor(secret: str) -> None:
    try:
        raise ValueError(f"bad url http://h/?api_key={secret}")
    except ValueError as exc:
        event = {
            "event": f"calling http://h/?api_key={secret}",
            "nested": {"urls": [f"http://h/?api_key=abc&x={secret}"], "n": 3},
            "url": httpx.URL(f"http://h/?api_key={secret}"),
            "error": exc,
            "exc_info": exc,
            "count": 5,
            "flag": True,
        }
        out = redact_processor(None, "info", event)
    text = json.dumps(out, default=str)
    assert secret not in text
    assert "api_key=***" in text
    assert "ValueError" in out["exception"]
    assert out["count"] == 5
    assert out["flag"] is True


def test_structlog_pipeline_end_to_end(secret: str) -> None:
    stream = io.StringIO()
    structlog.configure(processors=[structlog.processors.format_exc_info, redact_processor,
                                    structlog.processors.JSONRenderer()],
                        logger_factory=structlog.PrintLoggerFactory(file=stream), cache_logger_on_first_use=False)
    try:
        log = structlog.get_logger()
        try:
            raise RuntimeError(secret)
        except RuntimeError:
            log.exception("failed", url=f"http://h/?api_key={secret}")
        log.info(f"plain {secret}")
    finally:
        structlog.reset_defaults()
    assert secret not in stream.getvalue()
    assert stream.getvalue().count("***") >= 3


def test_stdlib_filter_keeps_args_shape(secret: str) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/bot/stats/DOGE?api_key={secret}", "1.1", 200), None)
    assert RedactingFilter().filter(record)
    assert isinstance(record.args, tuple)
    assert record.args[4] == 200
    assert secret not in record.getMessage()
    mapping = logging.LogRecord("x", logging.INFO, __file__, 1, "%(url)s", None, None)
    mapping.args = {"url": f"http://h/?api_key={secret}"}
    RedactingFilter().filter(mapping)
    assert secret not in mapping.getMessage()


def test_httpx_logger_is_filtered(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    install_logging_filters()
    install_logging_filters()  # idempotent
    assert sum(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters) == 1
    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "GET", httpx.URL(f"http://h/?api_key={secret}"),
                                        "HTTP/1.1 200 OK")
        try:
            raise OSError(secret)
        except OSError:
            logging.getLogger("httpx").exception("boom %s", secret)
    assert secret not in caplog.text
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")
