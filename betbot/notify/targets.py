"""Notification URLs: checked for shape, named without their secrets, and their secrets kept out of logs.

An Apprise URL often *is* a credential: `tgram://BOT_TOKEN/CHAT`, `discord://ID/TOKEN`, `json://user:pass@host`,
`ntfy://secret-topic`. So betbot never writes one whole: `target_label` keeps the scheme, and the host only
for the generic web schemes (json, xml, form) whose host is an address; everything else becomes `***`. Its
credential-like parts are registered with `betbot.redact` so that a log line that quotes one anyway (an
exception text) is scrubbed. Light on purpose: the standard library only (Apprise loads in the sending
thread, and only when notifications are configured; Settings checks a URL's shape).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from betbot.redact import MASK, register_secret

__all__ = ["register_url_secrets", "target_label"]

# Schemes whose host is a network address rather than a token (Apprise's generic webhooks).
_ADDRESS_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
_MIN_TOKEN = 6  # shorter path pieces (`hook`, `v1`) are not worth scrubbing from every log line


def target_label(url: str) -> str:
    """`json://127.0.0.1:8000/***`, `tgram://***`: enough to tell targets apart, nothing to steal."""
    scheme = url.partition("://")[0].lower()
    if scheme in _ADDRESS_SCHEMES:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            return f"{scheme}://{MASK}"
        rest = f"/{MASK}" if parts.path.strip("/") or parts.query else ""
        return f"{scheme}://{host}{port}{rest}"
    return f"{scheme}://{MASK}"


def register_url_secrets(url: str) -> None:
    """Scrub the URL and its credential-like parts (password, tokens in the path or query) from every log."""
    register_secret(url)
    scheme = url.partition("://")[0].lower()
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        register_secret(parts.password)
    pieces = [piece for piece in parts.path.split("/") if piece]
    pieces += [value for _, value in parse_qsl(parts.query)]
    if scheme not in _ADDRESS_SCHEMES:
        # The host of `tgram://TOKEN/...` is the token, case and all (urlsplit's hostname is lowercased).
        host = parts.netloc.rpartition("@")[2]
        pieces += [parts.username or "", host, *host.split(":")]  # `123456:ABC-token`: a bot token, colon and all
    for piece in pieces:
        if len(piece) >= _MIN_TOKEN:
            register_secret(piece)
