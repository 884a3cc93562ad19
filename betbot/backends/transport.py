"""The live backend's HTTP transport: httpcore connection pools on asyncio protocols, sharded.

Why not `httpx.AsyncHTTPTransport` as it comes: on asyncio, httpcore talks to sockets through anyio's
byte streams, and for a 200-byte request and a 1 KB reply that layer costs more than the HTTP itself.
Every read and write opens a cancel scope with a timer (`fail_after`), takes a checkpoint (an extra trip
through the event loop), pauses and resumes reading (two `epoll_ctl` calls per read), and every check of
an idle connection polls its socket with a system call. `AsyncioBackend` is an httpcore network backend
straight on an `asyncio.Protocol`: a read that finds data returns it, a read that waits arms one timer,
and whether an idle connection was closed by the server is known from the protocol without a system call.
It also sends a request's head and body in one segment instead of two (see `_Stream.write`).

`PoolTransport` is the part of httpx's transport betbot uses (no proxies, HTTP/1.1, the same exception
mapping), built on a pool with that backend; httpx offers no way to give its own transport a network
backend. `ShardedTransport` spreads requests over several small pools (see its docstring).

The pools are still `httpcore.AsyncConnectionPool`: respx and everything else that hooks httpcore see
the same calls as before, and the HTTP/1.1 itself (h11, keep-alive, expiry) is httpcore's.
"""

# httpcore's network interface passes a `timeout` to each call, hence ASYNC109 off for the file.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final

import anyio
import httpcore
import httpx
import sniffio

__all__ = ["SHARD_SIZE", "AsyncioBackend", "PoolTransport", "ShardedTransport", "pooled_transport"]

# Stop reading from the socket while this much is buffered and unread (a reply is about 1 KB).
_READ_HIGH_WATER: Final = 256 * 1024
# Requests are sent once they are complete or once this much of one is waiting.
_WRITE_FLUSH: Final = 64 * 1024


class _Protocol(asyncio.Protocol):
    """The socket's side: buffers what arrives, remembers how the connection ended, wakes one reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False  # the peer closed its side, or the connection is gone
        self.error: Exception | None = None  # why the connection was lost, if not a clean close
        self.lost = False
        self.reading_paused = False
        self.waiter: asyncio.Future[None] | None = None  # a reader waiting for data
        self.drained: asyncio.Future[None] | None = None  # set while the transport's write buffer is full

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - a stream connection
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport: HTTP/1.1 has no use for a half-closed connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _wait(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], limit: float | None) -> None:
    """Wait for `future`; TimeoutError after `limit` seconds. One timer, armed only when there is a wait."""
    if limit is None:
        await future
        return
    timer = loop.call_later(limit, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


def _reason(protocol: _Protocol, otherwise: str) -> str:
    error = protocol.error
    if error is None:
        return otherwise
    return str(error) or type(error).__name__


class _Stream(httpcore.AsyncNetworkStream):
    """One connection as httpcore sees it. Errors are httpcore's (httpx maps them to its own)."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._pending: list[bytes] = []  # written by httpcore, not yet handed to the transport
        self._pending_size = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if self._pending:
            self._flush()
        while not protocol.buffer:
            if protocol.error is not None:
                raise httpcore.ReadError(_reason(protocol, "the connection was lost"))
            if protocol.eof:
                return b""  # httpcore reads this as the server closing the connection
            protocol.waiter = waiter = protocol.loop.create_future()
            try:
                await _wait(protocol.loop, waiter, timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout(f"no data from the server in {timeout} s") from None
            finally:
                protocol.waiter = None
        buffer = protocol.buffer
        if len(buffer) <= max_bytes:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
        if protocol.reading_paused and len(buffer) <= _READ_HIGH_WATER // 4 and not protocol.lost:
            protocol.reading_paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Queue `buffer`; it is sent with the rest of the request when httpcore starts to read the reply.

        httpcore writes a request's head and its body separately: sent as they come, they are two TCP
        segments, and the server wakes up and parses twice. A request is complete when its reply is read,
        so holding the pieces until then costs no time. A large body is sent as it comes, `_WRITE_FLUSH`
        bytes at a time, waiting (up to `timeout`) while the transport's buffer is full.
        """
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            raise httpcore.WriteError(_reason(protocol, "the connection is closed"))
        self._pending.append(buffer)
        self._pending_size += len(buffer)
        if self._pending_size < _WRITE_FLUSH:
            return
        self._flush()
        drained = protocol.drained
        if drained is not None:
            try:
                await _wait(protocol.loop, drained, timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout(f"could not send to the server in {timeout} s") from None
        if protocol.error is not None:
            raise httpcore.WriteError(_reason(protocol, "the connection was lost"))

    def _flush(self) -> None:
        pending = self._pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        self._pending_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)  # a lost connection shows on the next read

    async def aclose(self) -> None:
        self._pending.clear()
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        protocol = self._protocol
        try:
            with anyio.fail_after(timeout):
                transport = await protocol.loop.start_tls(self._transport, protocol, ssl_context,
                                                          server_hostname=server_hostname)
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(f"the TLS handshake took more than {timeout} s") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # pragma: no cover - start_tls returns None only for a closed transport
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - start_tls on a stream
        protocol.transport = transport
        return _Stream(transport, protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks this of idle connections: anything to read, or the end, means the server
            # closed it. The protocol keeps reading while idle, so it knows without polling the socket.
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


def _stdlib_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop if it is asyncio's own (the one with happy eyeballs in `create_connection`)."""
    if sniffio.current_async_library() != "asyncio":
        return None
    loop = asyncio.get_running_loop()
    return loop if isinstance(loop, asyncio.BaseEventLoop) else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network on asyncio protocols, on asyncio's own event loop. Anything else (trio, uvloop,
    socket options) goes to httpcore's own backend."""

    def __init__(self) -> None:
        self._fallback: httpcore.AsyncNetworkBackend | None = None

    def _other(self) -> httpcore.AsyncNetworkBackend:
        if self._fallback is None:
            self._fallback = httpcore.AnyIOBackend()
        return self._fallback

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = _stdlib_loop()
        if loop is None or socket_options:
            return await self._other().connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                                   socket_options=socket_options)
        try:
            with anyio.fail_after(timeout):
                # asyncio sets TCP_NODELAY on TCP connections; happy eyeballs as anyio does it.
                transport, protocol = await loop.create_connection(
                    lambda: _Protocol(loop), host, port, happy_eyeballs_delay=0.25,
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"could not connect to {host}:{port} in {timeout} s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - create_connection makes streams
        return _Stream(transport, protocol)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await self._other().connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


# httpcore's exceptions as httpx's, most specific first (what httpx's own transport does).
_HTTPX_ERRORS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception) -> Exception:
    for core, mapped in _HTTPX_ERRORS:
        if isinstance(exc, core):
            return mapped(str(exc))
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class PoolTransport(httpx.AsyncBaseTransport):
    """One httpcore connection pool (HTTP/1.1, no proxy) on `AsyncioBackend`, as an httpx transport."""

    def __init__(self, *, ssl_context: ssl.SSLContext, limits: httpx.Limits,
                 network_backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network_backend or AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        assert isinstance(request.stream, httpx.AsyncByteStream)  # noqa: S101 - an async client's request
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream), extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that tells its shard when it is closed (the connection is free again)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ShardedTransport(httpx.AsyncBaseTransport):
    """One transport made of several small connection pools; each request goes to the least busy one.

    Why: httpcore 1.0's pool re-scans every connection, and for each idle one every connection again,
    on each request and each release (encode/httpcore#1035), so a single pool of 50 connections spends
    milliseconds of CPU per bet. Pools of `SHARD_SIZE` keep that bookkeeping small; the client, its
    limits in total and its behaviour stay those of one shared pool.
    """

    def __init__(self, shards: list[httpx.AsyncBaseTransport]) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self._shards = shards
        self._busy = [0] * len(shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        index = busy.index(min(busy))
        busy[index] += 1

        def release() -> None:
            busy[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        if not isinstance(response.stream, httpx.AsyncByteStream):  # pragma: no cover - a sync stream here is a bug
            release()
            return response
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_ReleasingStream(response.stream, release), extensions=response.extensions)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


SHARD_SIZE: Final = 2  # bench/bench_live.py at N=50: shards of 2 cost ~25 % less CPU per bet than shards of 8


def pooled_transport(max_connections: int, keepalive_expiry: float, trust_env: bool) -> httpx.AsyncBaseTransport:
    """The shared transport: one pool up to SHARD_SIZE connections, shards of at most that size beyond."""
    count = math.ceil(max_connections / SHARD_SIZE)
    # One TLS context for all shards: building one loads the CA bundle (tens of ms each).
    ssl_context = httpx.create_ssl_context(trust_env=trust_env)
    backend = AsyncioBackend()
    shards: list[httpx.AsyncBaseTransport] = []
    for index in range(count):
        # Spread max_connections as evenly as possible; the total is exactly max_connections.
        size = max_connections // count + (1 if index < max_connections % count else 0)
        # Keep-alive equal to the pool size: the pool then never closes an idle connection it has just
        # handed to a waiting request (encode/httpcore#1110).
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=keepalive_expiry)
        shards.append(PoolTransport(ssl_context=ssl_context, limits=limits, network_backend=backend))
    return shards[0] if count == 1 else ShardedTransport(shards)
