"""Plexus RPC over WebSocket for generated Python clients.

`hub codegen --lang python` copies this module into every generated package as
`_runtime.py`, so the package needs nothing but the `websockets` library (>= 10.4),
which is loaded on first connect: the module itself type-checks and imports
without it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

T = TypeVar("T")

DriftPolicy = Literal["warn", "throw", "ignore"]


class WebSocketLike(Protocol):
    """The part of a `websockets` client connection the runtime uses."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


Connector = Callable[[str], Awaitable[WebSocketLike]]
"""Opens a WebSocket to a URL; the default uses `websockets.connect`."""


async def websockets_connector(url: str) -> WebSocketLike:
    # Looked up at run time: the library's lazy exports are invisible to type
    # checkers in some versions, and importing this module must not need it.
    module = importlib.import_module("websockets")
    connect: Callable[..., Awaitable[WebSocketLike]] = getattr(module, "connect")
    # No frame size limit on what the server sends (schemas of big hubs), no pings
    # (the server keeps idle connections).
    return await connect(url, max_size=None, ping_interval=None)


class PlexusError(Exception):
    """Base class of every error this client raises."""


class PlexusConnectionError(PlexusError):
    """The connection went away (or never came) while a call needed it."""


class PlexusRpcError(PlexusError):
    """A JSON-RPC error answering a request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PlexusCallError(PlexusError):
    """An `error` item ended the call to `path`. `code` is a JSON-RPC number, or a
    domain name such as `arbor.tree_not_found`."""

    def __init__(self, path: str, code: int | str, message: str, recoverable: bool = False, details: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.code = code
        self.message = message
        self.recoverable = recoverable
        # What the error is about, for a program to act on (e.g. `{"tree_id": ...}`); None when the server sent none.
        self.details = details


class SchemaDriftError(PlexusError):
    """The server's schema is not the one this client was generated from."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(
            f"Schema drift: this client was generated for hash {expected}, "
            f"the server has {actual}; regenerate it with hub codegen"
        )
        self.expected = expected
        self.actual = actual


class SchemaDriftWarning(UserWarning):
    """Issued (once per client) when `on_drift="warn"` and the hashes differ."""


@dataclass(frozen=True)
class PlexusRequest:
    """A question the server asks mid-stream (a `request` item)."""

    request_id: str
    """Pass it back (the runtime does) in `<root>.respond`."""
    data: Any
    """`requestData`: what the method asks, e.g. `{"message": ..., "schema": ...}`."""
    timeout_ms: int
    """How long the server waits for the answer."""
    path: str
    """The method whose stream asked."""

    @property
    def prompt(self) -> str:
        """The question, for a person: `prompt` (plexus-hub's `ctx.request`), or `message`
        (the reference server's standard payloads)."""
        data: Any = self.data
        if not isinstance(data, dict):
            return str(data)
        fields = cast(dict[str, Any], data)
        return str(fields.get("prompt", fields.get("message", "")))

    @property
    def schema(self) -> dict[str, Any] | None:
        """JSON Schema of the expected answer, when the method gave one."""
        data: Any = self.data
        schema: Any = cast(dict[str, Any], data).get("schema") if isinstance(data, dict) else None
        return cast(dict[str, Any], schema) if isinstance(schema, dict) else None


RequestHandler = Callable[[PlexusRequest], Any]
"""Answers a request: its return value (or what the awaitable it returns resolves to,
for an `async def`) is sent as `response_data`."""

CANCELLED: dict[str, Any] = {"type": "cancelled"}
"""The answer sent when there is no handler or the handler fails."""

Item = dict[str, Any]
_Failure = PlexusConnectionError


class _Connection:
    """One open WebSocket, its pending requests and its subscriptions."""

    def __init__(self, ws: WebSocketLike) -> None:
        self.ws = ws
        self.closed: PlexusConnectionError | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subs: dict[int, asyncio.Queue[Item | _Failure]] = {}
        # Items that arrive before their subscribe response was read (the spec allows it).
        self._early: dict[int, list[Item]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        reason = "Connection closed"
        try:
            while True:
                self._receive(await self.ws.recv())
        except asyncio.CancelledError:
            reason = "Client is closed"
        except Exception as err:  # the library's ConnectionClosed, or a transport failure
            code = getattr(err, "code", None) or getattr(getattr(err, "rcvd", None), "code", None)
            reason = f"Connection closed ({code})" if code else f"Connection closed: {err}"
        self.closed = PlexusConnectionError(reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(self.closed)
        for queue in self._subs.values():
            queue.put_nowait(self.closed)
        self._pending.clear()
        self._subs.clear()

    def _receive(self, raw: str | bytes) -> None:
        try:
            decoded: Any = json.loads(raw)
        except ValueError:
            return  # not ours to crash on
        if not isinstance(decoded, dict):
            return
        msg = cast(dict[str, Any], decoded)
        params: Any = msg.get("params")
        if isinstance(params, dict):
            notification = cast(dict[str, Any], params)
            sub: Any = notification.get("subscription")
            item: Any = notification.get("result")
            if isinstance(sub, int) and isinstance(item, dict):
                queue = self._subs.get(sub)
                if queue is not None:
                    queue.put_nowait(cast(Item, item))
                else:
                    self._early.setdefault(sub, []).append(cast(Item, item))
            return
        request_id: Any = msg.get("id")
        future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is None or future.done():
            return
        error: Any = msg.get("error")
        if isinstance(error, dict):
            detail = cast(dict[str, Any], error)
            future.set_exception(PlexusRpcError(int(detail.get("code", -32603)), str(detail.get("message", ""))))
        else:
            future.set_result(msg.get("result"))

    async def send(self, method: str, params: Any, want_answer: bool = True) -> asyncio.Future[Any] | None:
        if self.closed:
            raise self.closed
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] | None = None
        if want_answer:
            future = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
        try:
            await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        except Exception as err:
            self._pending.pop(request_id, None)
            raise PlexusConnectionError(f"Connection closed: {err}") from err
        return future

    async def request(self, method: str, params: Any) -> Any:
        future = await self.send(method, params)
        assert future is not None
        return await future

    async def subscribe(self, method: str, params: Any) -> tuple[int, asyncio.Queue[Item | _Failure]]:
        sub = await self.request(method, params)
        if not isinstance(sub, int):
            raise PlexusRpcError(-32603, f"{method} answered {sub!r} instead of a subscription id")
        queue: asyncio.Queue[Item | _Failure] = asyncio.Queue()
        for item in self._early.pop(sub, []):
            queue.put_nowait(item)
        if self.closed:
            queue.put_nowait(self.closed)
        else:
            self._subs[sub] = queue
        return sub, queue

    def forget(self, sub: int) -> bool:
        return self._subs.pop(sub, None) is not None

    async def close(self) -> None:
        self._reader.cancel()
        try:
            await self.ws.close(1000, "client closed")
        except Exception:
            pass


class PlexusClient:
    """An untyped Plexus RPC client: `call(path, params)` streams the raw items.

    Connects on first use; when the connection drops, in-flight calls raise
    `PlexusConnectionError` and the next call reconnects (with backoff).
    """

    def __init__(
        self,
        url: str,
        *,
        root: str | None = None,
        connector: Connector | None = None,
        connect_attempts: int = 5,
        backoff_s: float = 0.1,
        max_backoff_s: float = 3.0,
        on_request: RequestHandler | None = None,
        wire: str = "legacy",
    ) -> None:
        # `wire="turns"` asks for the newest reference's update/terminal items (`?wire=turns`);
        # generated namespaces hand over the same values and raise the same errors either way.
        if wire != "legacy":
            url = f"{url}{'&' if '?' in url else '?'}wire={wire}"
        self.url = url
        self.root = root
        """The server's root name (`plexus` in `plexus.call`): given, or asked with `_info` on first use."""
        self.on_request = on_request
        self._connector = connector or websockets_connector
        self._attempts = max(1, connect_attempts)
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._connection: asyncio.Task[_Connection] | None = None
        self._closed = False

    def call(self, path: str, params: Mapping[str, Any] | None = None) -> CallStream[Item]:
        """Every item of a call (`data`, `progress`, `error`, `done`, and `request` items,
        which are answered by `on_request` before they are yielded)."""
        return CallStream(self._items(".call", {"method": path, "params": dict(params or {})}, path))

    async def hash(self) -> str:
        """The server's root hash."""
        root = await self.root_name()
        async for item in self._items(f"{root}.hash", [], root):
            if item.get("type") == "data":
                return str(item["content"]["value"])
            if item.get("type") == "error":
                raise _call_error(f"{root}.hash", item)
        raise PlexusRpcError(-32603, f"{root}.hash ended without a result")

    async def root_name(self) -> str:
        """The root name: the one given, else the `backend` the server's `_info` reports
        (asked once); a server without `_info` (method not found) is taken to be `plexus`."""
        if self.root is None:
            root = "plexus"
            try:
                async for item in self._items("_info", [], "_info"):
                    if item.get("type") == "data" and isinstance(item.get("content"), dict):
                        root = str(item["content"].get("backend") or "plexus")
            except PlexusRpcError as err:
                if err.code != -32601:
                    raise
            self.root = root
        return self.root

    async def close(self) -> None:
        self._closed = True
        task, self._connection = self._connection, None
        if task is None:
            return
        try:
            connection = await task
        except Exception:
            return
        await connection.close()

    async def _items(self, method: str, params: Any, path: str) -> AsyncIterator[Item]:
        if method.startswith("."):  # a method of the root: `.call` is `<root>.call`
            method = await self.root_name() + method
        connection = await self._connect()
        sub, queue = await connection.subscribe(method, params)
        finished = False
        try:
            while True:
                item = await queue.get()
                if isinstance(item, PlexusConnectionError):
                    raise item
                kind = item.get("type")
                if kind == "request":
                    await self._answer(connection, item, path)
                finished = kind in ("done", "error")
                yield item
                if finished:
                    return
        finally:
            # The consumer stopped early (break, aclose, cancellation): cancel it on the server.
            if not finished and connection.forget(sub) and not connection.closed:
                try:
                    await connection.send(f"{method}_unsub", [sub], want_answer=False)
                except PlexusError:
                    pass

    async def _answer(self, connection: _Connection, item: Item, path: str) -> None:
        request = PlexusRequest(
            request_id=str(item.get("requestId", "")),
            data=item.get("requestData"),
            timeout_ms=int(item.get("timeoutMs", 0)),
            path=path,
        )
        answer: Any = CANCELLED
        if self.on_request is not None:
            try:
                answer = self.on_request(request)
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as err:
                warnings.warn(f"request handler failed, answering cancelled: {err!r}", RuntimeWarning, stacklevel=2)
        try:
            await connection.request(f"{await self.root_name()}.respond", {"request_id": request.request_id, "response_data": answer})
        except PlexusRpcError:
            pass  # timed out or cancelled on the server meanwhile: the stream says what happened next

    async def _connect(self) -> _Connection:
        if self._closed:
            raise PlexusConnectionError("Client is closed")
        task = self._connection
        if task is not None and task.done() and (task.cancelled() or task.exception() is not None or task.result().closed):
            task = None
        if task is None:
            task = self._connection = asyncio.get_running_loop().create_task(self._open())
        try:
            return await asyncio.shield(task)
        except BaseException:
            if self._connection is task and task.done():
                self._connection = None
            raise

    async def _open(self) -> _Connection:
        delay = self._backoff
        last: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
            try:
                return _Connection(await self._connector(self.url))
            except Exception as err:
                last = err
        raise PlexusConnectionError(f"Cannot connect to {self.url}: {last}") from last


def _error_code(raw: Any) -> int | str:
    """An `error` item's code: numeric codes (`"-32601"`) as ints, named ones
    (`"arbor.tree_not_found"`) unchanged, -32000 when the item has none."""
    if raw is None or raw == "":
        return -32000
    text = str(raw)
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _call_error(path: str, item: Item) -> PlexusCallError:
    return PlexusCallError(
        path, _error_code(item.get("code")), str(item.get("message", "")), bool(item.get("recoverable", False)), item.get("details")
    )


# The reserved turn codes we emit for numeric ones, read back as those numbers, so a
# call raises the same `code` in either wire form.
_NUMERIC_CODES: dict[str, int] = {
    "plexus.method_not_found": -32601,
    "plexus.invalid_params": -32602,
    "plexus.execution_error": -32000,
    "plexus.unauthenticated": -32001,
    "plexus.callback_failed": -32006,
}


def _turn_code(raw: Any) -> int | str:
    text = str(raw)
    return _NUMERIC_CODES.get(text, text)


def _object(value: Any) -> dict[str, Any] | None:
    """`value` as a JSON object, or None when it is not one."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def _turn_terminal(item: Item) -> dict[str, Any] | None:
    """A data item's content when it is a turn's terminal (`<path>.terminal`,
    `{"stop": {"kind": ...}, "value": ...}`), in the turn wire form."""
    content = _object(item.get("content"))
    if content is None or "value" not in content or not str(item.get("content_type", "")).endswith(".terminal"):
        return None
    stop = _object(content.get("stop"))
    if stop is None or not isinstance(stop.get("kind"), str):
        return None
    return content


def _stopped_error(path: str, stop: dict[str, Any]) -> PlexusCallError:
    """The error of a turn that did not complete (failed, cancelled, refused, limited)."""
    kind = str(stop.get("kind"))
    error = _object(stop.get("error"))
    if kind == "failed" and error is not None:
        return PlexusCallError(
            path, _turn_code(error.get("code")), str(error.get("message", "")), bool(error.get("retryable", False)), error.get("details")
        )
    detail = _object(stop.get("detail")) or {}
    return PlexusCallError(path, str(detail.get("code", f"plexus.{kind}")), str(detail.get("message", f"Call {kind}")), False, detail.get("data"))


class CallStream(Generic[T], AsyncIterator[T]):
    """The items of one call. Iterate it with `async for`; leave early with `aclose()`
    or `async with` (the call is then cancelled on the server)."""

    def __init__(self, source: AsyncIterator[Any]) -> None:
        self._source = source

    def __aiter__(self) -> CallStream[T]:
        return self

    async def __anext__(self) -> T:
        value: T = await self._source.__anext__()
        return value

    async def aclose(self) -> None:
        close: Callable[[], Awaitable[None]] | None = getattr(self._source, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> CallStream[T]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class TypedHub:
    """What generated namespaces call: data contents only, `error` items raised as
    `PlexusCallError`, and the schema drift check before the first call."""

    def __init__(self, rpc: PlexusClient, schema_hash: str, on_drift: DriftPolicy) -> None:
        self.rpc = rpc
        self.schema_hash = schema_hash
        self.on_drift = on_drift
        self._drift: asyncio.Future[str] | None = None
        self._warned = False

    async def check_drift(self) -> None:
        """Compares the server's root hash with the one this client was generated from (once)."""
        if self._drift is None:
            self._drift = asyncio.ensure_future(self.rpc.hash())
        actual = await asyncio.shield(self._drift)
        if actual == self.schema_hash or self.on_drift == "ignore":
            return
        error = SchemaDriftError(self.schema_hash, actual)
        if self.on_drift == "throw":
            raise error
        if not self._warned:
            self._warned = True
            # Here, in the caller's task, so the warning points at the caller's code.
            _warn_at_caller(str(error), SchemaDriftWarning)

    def stream(self, path: str, params: Mapping[str, Any], optional: Mapping[str, Any] | None = None) -> CallStream[Any]:
        return CallStream(self._contents(path, _merge(params, optional)))

    async def unary(self, path: str, params: Mapping[str, Any], optional: Mapping[str, Any] | None = None) -> Any:
        result: list[Any] = []
        async for value in self._contents(path, _merge(params, optional), unary=True):
            if not result:
                result.append(value)
        if not result:
            raise PlexusCallError(path, -32603, f"{path} ended without a result")
        return result[0]

    async def _contents(self, path: str, params: dict[str, Any], unary: bool = False) -> AsyncIterator[Any]:
        await self.check_drift()
        items = self.rpc.call(path, params)
        try:
            async for item in items:
                kind = item.get("type")
                if kind == "data":
                    # Either wire form: a data or `.update` item's content, a unary turn's terminal value.
                    terminal = _turn_terminal(item)
                    if terminal is None:
                        yield item.get("content")
                        continue
                    stop = _object(terminal["stop"]) or {}
                    if stop.get("kind") != "complete":
                        raise _stopped_error(path, stop)
                    # A unary call's result may be null; a streaming call's terminal carries none.
                    if unary or terminal["value"] is not None:
                        yield terminal["value"]
                elif kind == "error":
                    raise _call_error(path, item)
        finally:
            await items.aclose()


def _warn_at_caller(message: str, category: type[Warning]) -> None:
    """Warns at the first frame outside this package (stacklevel differs between calls and streams)."""
    package = os.path.dirname(__file__)
    frame = inspect.currentframe()
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == package:
        frame = frame.f_back
    if frame is None:
        warnings.warn(message, category, stacklevel=2)
        return
    registry: dict[Any, Any] = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__"), registry)


def _merge(params: Mapping[str, Any], optional: Mapping[str, Any] | None) -> dict[str, Any]:
    """Required params as given; optional ones only when set (`None` = let the server default)."""
    merged = dict(params)
    for key, value in (optional or {}).items():
        if value is not None:
            merged[key] = value
    return merged
