"""Keep the DuckDice API key out of every piece of text betbot produces.

The key travels as the query parameter `api_key=` on every call, so every URL the client builds holds a
secret, and httpx puts request URLs into its exception messages and its log lines. Three layers:

* `redact(text)` rewrites `api_key=<value>` (also URL-encoded, `api_key%3D<value>`) to `api_key=***` and
  scrubs every secret registered with `register_secret` wherever it appears, in plain or URL-encoded form;
* `redact_processor` is a structlog processor that applies `redact` to every string in an event
  (nested containers and exception tracebacks included);
* `RedactingFilter` does the same for stdlib loggers (httpx, httpcore, uvicorn), which betbot does not
  control; `install_logging_filters()` attaches it to them.

The rule is still that the key is never put into an event in the first place; this is the safety net.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable, Mapping, MutableMapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "RedactingFilter",
    "install_logging_filters",
    "redact",
    "redact_processor",
    "redact_secret",
    "register_secret",
    "registered_secrets",
    "unregister_secret",
]

MASK = "***"

# The value runs up to the next `&`, whitespace, quote, or a closing bracket that ends a URL in prose.
_API_KEY = re.compile(r"(api_key(?:=|%3D|%3d))[^&\s'\"<>)\]}]*", re.IGNORECASE)

# Secrets shorter than this are not registered: scrubbing "ab" from every line would wreck the logs and
# such a value is not a real key anyway.
_MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Scrub `value` (and its URL-encoded forms) from everything `redact` sees from now on."""
    value = value.strip()
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value, safe="")})


def unregister_secret(value: str) -> None:
    """Forget a secret (tests use it to keep the registry clean)."""
    value = value.strip()
    with _lock:
        _secrets.difference_update({value, quote(value, safe=""), quote_plus(value, safe="")})


def registered_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact_secret(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` (plain or URL-encoded) replaced by `***`."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
        text = text.replace(form, MASK)
    return text


def redact(text: str) -> str:
    """`text` with `api_key=...` masked and every registered secret scrubbed."""
    if not text:
        return text
    text = _API_KEY.sub(r"\1" + MASK, text)
    with _lock:
        # Longest first, so a secret that contains another is scrubbed whole.
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, Mapping):
        return {_redact_value(key): _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    # Anything else (an httpx.URL, a Request, an object with a chatty repr) becomes redacted text.
    return redact(str(value))


def _format_exc_info(exc_info: Any) -> str | None:
    if exc_info is True:
        import sys  # noqa: PLC0415 - only on the rare path that logs an exception

        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and exc_info[1] is not None:
        return "".join(traceback.format_exception(*exc_info))
    return None


def redact_processor(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every string in the event redacted; an exc_info rendered, then redacted.

    A traceback is rendered here (rather than by the renderer after this processor) because exception
    messages and frame locals are exactly where an httpx URL with the key would hide.
    """
    if "exc_info" in event_dict:
        exc_info = event_dict.pop("exc_info")
        rendered = _format_exc_info(exc_info)
        if rendered is not None:
            event_dict["exception"] = rendered
    for key in list(event_dict):
        event_dict[key] = _redact_value(event_dict[key])
    return event_dict


class RedactingFilter(logging.Filter):
    """A stdlib logging filter that redacts a record's message, arguments and exception text.

    Arguments are redacted in place (keeping a tuple a tuple) so formatters that unpack them, like
    uvicorn's access-log formatter, keep working.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif record.msg is not None:
            record.msg = redact(str(record.msg))
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else _scrub_arg(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: redact(v) if isinstance(v, str) else _scrub_arg(v) for k, v in args.items()}
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def _scrub_arg(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    cleaned = redact(text)
    return cleaned if cleaned != text else value


# httpx logs every request line, URL included, at INFO; httpcore traces at DEBUG; uvicorn's access log
# prints the request path with its query string.
_CHATTY_LOGGERS: tuple[str, ...] = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
)


def install_logging_filters(names: Iterable[str] = _CHATTY_LOGGERS) -> None:
    """Attach one `RedactingFilter` to each named stdlib logger (idempotent)."""
    for name in names:
        target = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
            target.addFilter(RedactingFilter())
