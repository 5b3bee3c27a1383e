"""A local OpenAI-compatible chat-completions server with latency and fault injection: toolsynth's own tests and
benchmarks use it, and it is public for trying a pipeline offline through the real litellm HTTP path.

Serves `POST /v1/chat/completions` (also `/chat/completions`) and `GET /v1/models` on 127.0.0.1 with HTTP/1.1
keep-alive. Every chat request draws a latency and at most one fault from seeded generators, so a run is
reproducible for a given seed and request order::

    with OpenAICompatibleServer(responder=lambda messages, request: '{"answer": "4"}',
                                faults=Faults(script=["rate_limit"])) as server:
        lm = dspy.LM("openai/toolsynth-test", api_base=server.url, api_key="k", engine="litellm", cache=False)

As a separate process (``python -m toolsynth.testing.server --help``) it prints its base URL as the first
line of stdout, then detaches its stdout (see `main`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, Literal, cast, get_args

__all__ = [
    "FAULT_NAMES",
    "FaultName",
    "Faults",
    "Latency",
    "OpenAICompatibleServer",
    "RawBytesReply",
    "RequestRecord",
    "Responder",
    "ServerStats",
    "demo_responder",
    "echo_responder",
    "main",
]

Responder = Callable[[list[dict[str, Any]], dict[str, Any]], str]
"""Maps (messages, full request JSON) to the assistant message content."""


class RawBytesReply(str):
    """A reply whose surrogate escapes U+DC80..U+DCFF (as `bytes.decode("utf-8", "surrogateescape")` makes them)
    are sent as the raw bytes 0x80..0xFF they stand for: a response body that is not valid UTF-8, as a broken
    server may send. Any other lone surrogate in it fails the request with a 500."""


FaultName = Literal[
    "rate_limit", "server_error", "timeout", "malformed_json", "truncated", "drop", "auth", "bad_request"
]
FAULT_NAMES: tuple[FaultName, ...] = get_args(FaultName)
_NO_FAULT = frozenset({"", "ok", "none", "-"})

CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODELS_PATHS = frozenset({"/v1/models", "/models"})


def demo_responder(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """Answer as the offline demo model (`toolsynth.demo_model.reply_to`), imported on first use."""
    from toolsynth.demo_model import reply_to

    return reply_to(messages)


def echo_responder(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """Return the text of the last user message unchanged."""
    user = [m for m in messages if m.get("role") == "user"]
    return _text_of(user[-1].get("content")) if user else ""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Latency:
    """Per-request delay: none, a fixed number of seconds, or lognormal with a median and a log-space sigma."""

    kind: Literal["none", "fixed", "lognormal"] = "none"
    seconds: float = 0.0
    sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("none", "fixed", "lognormal"):
            raise ValueError(f"unknown latency kind {self.kind!r}")
        if not (math.isfinite(self.seconds) and self.seconds >= 0 and math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError("latency seconds and sigma must be finite and >= 0")
        if self.kind == "lognormal" and self.seconds <= 0:
            raise ValueError("lognormal latency needs a median > 0")

    @classmethod
    def none(cls) -> Latency:
        """No added delay."""
        return cls()

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        """The same delay on every request."""
        return cls("fixed", seconds)

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Latency:
        """exp(N(ln median, sigma)) seconds: median `median`, right-skewed like real model latency."""
        return cls("lognormal", median, sigma)

    @classmethod
    def parse(cls, spec: str) -> Latency:
        """Parse ``none``, ``0.2``, ``fixed:0.2`` or ``lognormal:MEDIAN:SIGMA``."""
        parts = spec.strip().lower().split(":")
        try:
            if parts == ["none"] or parts == ["0"]:
                return cls.none()
            if len(parts) == 1:
                return cls.fixed(float(parts[0]))
            if parts[0] == "fixed" and len(parts) == 2:
                return cls.fixed(float(parts[1]))
            if parts[0] == "lognormal" and len(parts) == 3:
                return cls.lognormal(float(parts[1]), float(parts[2]))
        except ValueError as exc:
            raise ValueError(f"bad latency spec {spec!r}: {exc}") from None
        raise ValueError(f"bad latency spec {spec!r}; use none, SECONDS, fixed:SECONDS or lognormal:MEDIAN:SIGMA")

    def sample(self, rng: random.Random) -> float:
        """Draw one delay in seconds (always consumes one draw, so the sequence is stable across kinds)."""
        draw = rng.gauss(0.0, 1.0)
        if self.kind == "fixed":
            return self.seconds
        if self.kind == "lognormal":
            return math.exp(math.log(self.seconds) + self.sigma * draw)
        return 0.0


@dataclass(frozen=True)
class Faults:
    """Which chat requests fail, and how.

    Precedence per request: the next `script` entry while the script lasts (``None``/``"ok"`` = no fault),
    else the first `every` entry whose period divides the 1-based chat-request number, else one seeded draw
    against the cumulative `rates`. `/v1/models` requests never fault.
    """

    rates: Mapping[str, float] = field(default_factory=dict)
    script: Iterable[str | None] = ()
    every: Mapping[str, int] = field(default_factory=dict)
    retry_after: float = 1.0
    """Seconds sent in `Retry-After` (and `retry-after-ms`) on `rate_limit`."""
    hang_seconds: float = 30.0
    """How long `timeout` stalls before closing the connection without a response (cut short by `stop()`)."""

    def __post_init__(self) -> None:
        for name in [*self.rates, *self.every]:
            _check_fault(name)
        if isinstance(self.script, str):
            raise TypeError("script must be a list or iterator of fault names; use Faults.parse_script for text")
        if isinstance(self.script, Sequence):
            for item in self.script:
                _fault_or_none(item)
        if any(not 0 <= p <= 1 for p in self.rates.values()) or sum(self.rates.values()) > 1 + 1e-9:
            raise ValueError("fault rates must be in [0, 1] and sum to at most 1")
        if any(n < 1 for n in self.every.values()):
            raise ValueError("fault periods must be >= 1")
        if self.retry_after < 0 or self.hang_seconds < 0:
            raise ValueError("retry_after and hang_seconds must be >= 0")

    @staticmethod
    def parse_rates(spec: str) -> dict[str, float]:
        """Parse ``rate_limit=0.1,server_error=0.05``."""
        return {name: float(value) for name, value in _pairs(spec)}

    @staticmethod
    def parse_every(spec: str) -> dict[str, int]:
        """Parse ``server_error=5,drop=7`` (fault on every 5th / 7th chat request)."""
        return {name: int(value) for name, value in _pairs(spec)}

    @staticmethod
    def parse_script(spec: str) -> list[str | None]:
        """Parse ``rate_limit,ok,drop`` into a script (``ok`` = no fault)."""
        return [_fault_or_none(item) for item in spec.split(",")] if spec.strip() else []


def _check_fault(name: str) -> FaultName:
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    return cast(FaultName, name)


def _fault_or_none(item: str | None) -> FaultName | None:
    if item is None or item.strip().lower() in _NO_FAULT:
        return None
    return _check_fault(item.strip())


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected NAME=VALUE, got {part!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


# --------------------------------------------------------------------------- observability


@dataclass(frozen=True)
class RequestRecord:
    """One handled request. `status` is None when no response was sent (`drop`, `timeout`, shutdown)."""

    index: int
    method: str
    path: str
    model: str | None
    fault: FaultName | None
    status: int | None
    latency: float
    """Injected delay in seconds."""
    duration: float
    """Wall time from request parsed to response written, in seconds."""
    error: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    """The request's `temperature`, `max_tokens` and `response_format`, where sent."""


@dataclass(frozen=True)
class ServerStats:
    """Counters since start or the last `reset_stats()`."""

    requests: int
    chat_requests: int
    completions: int
    """Chat requests answered 200 with a well-formed completion."""
    by_status: dict[int | None, int]
    by_fault: dict[str, int]
    in_flight: int
    max_in_flight: int


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops bursts of connects (1 s SYN retry)
    block_on_close = False  # the owner joins its own handler threads, with a deadline
    owner: OpenAICompatibleServer


class _Handler(BaseHTTPRequestHandler):
    """One connection. Each request is logged just before its response (or its absence) reaches the client."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "toolsynth-test/0.1"
    sys_version = ""
    server: _HTTPServer
    _entry: dict[str, Any] | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.owner.idle_timeout)
        self.server.owner._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        path = self._begin("GET")
        owner = self.server.owner
        if path in MODELS_PATHS:
            model = {"id": owner.model_name, "object": "model", "created": owner.created, "owned_by": "toolsynth"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, f"Unknown path {path!r}", "invalid_request_error", "not_found")

    def do_POST(self) -> None:
        path = self._begin("POST")
        owner = self.server.owner
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            self._send_error(411, "Content-Length required", "invalid_request_error", None)
            return
        raw = self.rfile.read(int(length_header))
        if path not in CHAT_PATHS:
            self._send_error(404, f"Unknown path {path!r}", "invalid_request_error", "not_found")
            return
        try:
            request = json.loads(raw)
            if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
                raise ValueError("body must be a JSON object with a 'messages' list")
        except ValueError as exc:
            self._send_error(400, f"Invalid request body: {exc}", "invalid_request_error", None, error=str(exc))
            return
        model = str(request.get("model") or owner.model_name)
        try:
            fault, latency = owner._begin_chat()
        except ValueError as exc:
            self._send_error(500, f"Bad fault script entry: {exc}", "server_error", None, error=str(exc))
            return
        if self._entry is not None:
            params = {k: request[k] for k in ("temperature", "max_tokens", "response_format") if k in request}
            self._entry.update(model=model, fault=fault, latency=latency, params=params)
        accepted = owner.response_formats
        response_format = request.get("response_format")
        kind = "text"
        if isinstance(response_format, dict):
            kind = str(response_format.get("type", "text")) + ("+schema" if "schema" in response_format else "")
        if accepted is not None and kind not in accepted:
            owner._end_chat()
            message = f"response_format.type: Input should be {' or '.join(map(repr, accepted))}, got {kind!r}"
            self._send_error(500, message, "internal_server_error", None, error=message)
            return
        try:
            self._chat(request, model, fault, latency)
        finally:
            owner._end_chat()
            self._log_reply(None, "handler ended without a response")

    def _chat(self, request: dict[str, Any], model: str, fault: FaultName | None, latency: float) -> None:
        owner = self.server.owner
        if latency > 0 and owner._stopping.wait(latency):
            self._abort(error="server stopping")
        elif fault == "rate_limit":
            seconds = owner.faults.retry_after
            headers = {
                "Retry-After": f"{seconds:g}",
                "retry-after-ms": str(round(seconds * 1000)),
                "x-ratelimit-remaining-requests": "0",
            }
            self._send_error(
                429,
                f"Rate limit reached for {model}. Please try again in {seconds:g}s.",
                "requests",
                "rate_limit_exceeded",
                headers,
            )
        elif fault == "server_error":
            self._send_error(500, "The server had an error while processing your request.", "server_error", None)
        elif fault == "auth":
            self._send_error(
                401,
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        elif fault == "bad_request":
            self._send_error(
                400,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        elif fault == "timeout":
            owner._stopping.wait(owner.faults.hang_seconds)
            self._abort()
        elif fault == "drop":
            self._abort()
        elif request.get("stream"):
            self._send_error(
                400,
                "This test server does not support stream=true.",
                "invalid_request_error",
                "unsupported_value",
                param="stream",
                error="stream refused",
            )
        elif fault == "malformed_json":
            self._send_bytes(200, b'{"id": "chatcmpl-broken", "choices": [{"message": <not json>', "application/json")
        else:
            self._complete(request, model, truncate=fault == "truncated")

    def _complete(self, request: dict[str, Any], model: str, truncate: bool) -> None:
        owner = self.server.owner
        messages = cast(list[dict[str, Any]], request["messages"])
        try:
            content = owner.responder(messages, request)
            if not isinstance(content, str):
                raise TypeError(f"responder returned {type(content).__name__}, expected str")
            body = _encode_completion(
                owner._completion(model, messages, content), raw=isinstance(content, RawBytesReply)
            )
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            self._send_error(500, f"Responder failed: {detail}", "server_error", None, error=detail)
            return
        if not truncate:
            self._send_bytes(200, body, "application/json")
            return
        self._log_reply(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) + 64))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self._abort()

    def _begin(self, method: str) -> str:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        self._entry = {
            "method": method,
            "path": path,
            "model": None,
            "fault": None,
            "latency": 0.0,
            "started": time.perf_counter(),
            "params": {},
        }
        return path

    def _log_reply(self, status: int | None, error: str | None = None) -> None:
        """Log the current request once; later calls are no-ops."""
        entry, self._entry = self._entry, None
        if entry is not None:
            self.server.owner._record(status=status, error=error, **entry)

    def _send_json(
        self, status: int, body: Any, headers: Mapping[str, str] | None = None, error: str | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(body).encode(), "application/json", headers, error)

    def _send_error(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
        error: str | None = None,
    ) -> None:
        if self.server.owner.echo_authorization:
            message += f" (request headers: Authorization: {self.headers.get('Authorization')})"
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        self._send_json(status, body, headers, error)

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
    ) -> None:
        self._log_reply(status, error)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _abort(self, error: str | None = None) -> None:
        """Close the connection now, sending nothing more."""
        self._log_reply(None, error)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- the server


class OpenAICompatibleServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, in a background thread.

    Use as a context manager or call `start()` / `stop()`. `url` is the base URL to pass as `api_base`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        latency: Latency | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        model_name: str = "toolsynth-test",
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = 30.0,
        verbose: bool = False,
        response_formats: tuple[str, ...] | None = None,
        echo_authorization: bool = False,
    ) -> None:
        self.responder: Responder = responder or demo_responder
        self.response_formats = response_formats
        """The `response_format` types accepted, a type with a top-level `schema` written `TYPE+schema` (e.g.
        ``("text", "json_object", "json_object+schema")`` as llama-cpp-python's server); others get a 500 naming
        the field. None accepts every type."""
        self.latency = latency or Latency()
        self.faults = faults or Faults()
        self.seed = seed
        self.model_name = model_name
        self.host = host
        self.idle_timeout = idle_timeout
        """Seconds an idle keep-alive connection is kept open."""
        self.verbose = verbose
        self.echo_authorization = echo_authorization
        """Repeat the request's Authorization header in every error message, as some servers do."""
        self.created = int(time.time())
        self._requested_port = port
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._latency_rng = random.Random(f"{seed}:latency")
        self._fault_rng = random.Random(f"{seed}:faults")
        self._script: Iterator[str | None] = iter(self.faults.script)
        self._chat_count = 0
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log: list[RequestRecord] = []
        self._in_flight = 0
        self._max_in_flight = 0

    # lifecycle

    def start(self) -> OpenAICompatibleServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"toolsynth-test-server:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, join_timeout: float = 5.0) -> None:
        """Stop serving, cut open connections and stalled faults short, and join handler threads (idempotent)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(join_timeout)
        with self._lock:
            connections = dict(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + join_timeout
        for handler_thread in connections.values():
            handler_thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd = self._thread = None

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after `start()`)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without the ``/v1`` suffix."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL, ``http://HOST:PORT/v1``."""
        return f"{self.base_url}/v1"

    def configure(
        self, *, responder: Responder | None = None, latency: Latency | None = None, faults: Faults | None = None
    ) -> None:
        """Swap the responder, latency or faults while running; new faults restart the script and the request count."""
        with self._lock:
            if responder is not None:
                self.responder = responder
            if latency is not None:
                self.latency = latency
            if faults is not None:
                self.faults = faults
                self._script = iter(faults.script)
                self._chat_count = 0

    # observability

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def stats(self) -> ServerStats:
        """Counters over the request log."""
        with self._lock:
            log, in_flight, peak = list(self._log), self._in_flight, self._max_in_flight
        chat = [r for r in log if r.path in CHAT_PATHS and r.method == "POST"]
        return ServerStats(
            requests=len(log),
            chat_requests=len(chat),
            completions=sum(1 for r in chat if r.status == 200 and r.fault is None),
            by_status=dict(Counter(r.status for r in log)),
            by_fault=dict(Counter(r.fault for r in log if r.fault is not None)),
            in_flight=in_flight,
            max_in_flight=peak,
        )

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no chat request is in flight; False if `timeout` seconds pass first.

        A handler finishes its bookkeeping just after the client has read the reply, so a client that
        asserts on `stats().in_flight` right after its last response must wait for this first.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def reset_stats(self) -> None:
        """Clear the request log and the in-flight peak (fault script and RNG state are kept)."""
        with self._lock:
            self._log.clear()
            self._max_in_flight = self._in_flight

    # internals used by the handler

    def _register(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections[conn] = threading.current_thread()
        if self._stopping.is_set():  # accepted while stopping: don't keep it waiting
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _unregister(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def _begin_chat(self) -> tuple[FaultName | None, float]:
        """Draw this chat request's fault and latency; a bad entry in an iterator script raises ValueError."""
        with self._lock:
            self._chat_count += 1
            latency = self.latency.sample(self._latency_rng)
            draw = self._fault_rng.random()  # drawn every request so the sequence doesn't depend on the script
            fault: FaultName | None = None
            scripted = next(self._script, _END)
            if scripted is not _END:
                fault = _fault_or_none(cast("str | None", scripted))
            else:
                for name, period in self.faults.every.items():
                    if self._chat_count % period == 0:
                        fault = _check_fault(name)
                        break
                else:
                    total = 0.0
                    for name, rate in self.faults.rates.items():
                        total += rate
                        if draw < total:
                            fault = _check_fault(name)
                            break
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return fault, latency

    def _end_chat(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def _record(
        self,
        *,
        method: str,
        path: str,
        model: str | None,
        fault: FaultName | None,
        status: int | None,
        latency: float,
        started: float,
        error: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        duration = time.perf_counter() - started
        with self._lock:
            record = RequestRecord(
                len(self._log), method, path, model, fault, status, latency, duration, error, dict(params or {})
            )
            self._log.append(record)

    def _completion(self, model: str, messages: list[dict[str, Any]], content: str) -> dict[str, Any]:
        prompt_tokens = sum(_estimate_tokens(_text_of(m.get("content"))) + 4 for m in messages)
        completion_tokens = _estimate_tokens(content)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_toolsynth_test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


_END = object()


def _encode_completion(completion: dict[str, Any], raw: bool) -> bytes:
    if raw:  # a `RawBytesReply`: its surrogate escapes become raw bytes
        return json.dumps(completion, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return json.dumps(completion).encode()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _estimate_tokens(text: str) -> int:
    """About four characters per token, at least one for non-empty text."""
    return math.ceil(len(text) / 4)


# --------------------------------------------------------------------------- command line


def _load_responder(spec: str) -> Responder:
    if spec == "demo":
        return demo_responder
    if spec == "echo":
        return echo_responder
    module, sep, name = spec.partition(":")
    if not sep:
        raise ValueError(f"responder must be demo, echo or MODULE:FUNCTION, got {spec!r}")
    return cast(Responder, getattr(importlib.import_module(module), name))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolsynth.testing.server",
        description="Local OpenAI-compatible test server. Prints its base URL (…/v1) as the first stdout line, "
        "then points its stdout at /dev/null so it never holds a parent's pipe open. Request logs (--verbose) and "
        "errors go to stderr: callers should redirect stderr to a file or DEVNULL. SIGTERM/SIGINT stop it cleanly.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--model-name", default="toolsynth-test")
    parser.add_argument("--responder", default="demo", help="demo (default), echo, or MODULE:FUNCTION")
    parser.add_argument(
        "--latency",
        type=Latency.parse,
        default=Latency(),
        help="none, SECONDS, fixed:SECONDS or lognormal:MEDIAN:SIGMA",
    )
    parser.add_argument(
        "--fault-rate",
        type=Faults.parse_rates,
        default={},
        metavar="NAME=P,...",
        help=f"per-request fault probabilities; faults: {', '.join(FAULT_NAMES)}",
    )
    parser.add_argument(
        "--fault-every",
        type=Faults.parse_every,
        default={},
        metavar="NAME=N,...",
        help="fault on every Nth chat request",
    )
    parser.add_argument(
        "--fault-script",
        type=Faults.parse_script,
        default=[],
        metavar="NAME|ok,...",
        help="faults for the first chat requests, in order",
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on rate_limit")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds the timeout fault stalls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument("--keep-stdout", action="store_true", help="don't detach stdout after printing the URL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM or SIGINT."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        faults = Faults(
            rates=args.fault_rate,
            every=args.fault_every,
            script=args.fault_script,
            retry_after=args.retry_after,
            hang_seconds=args.hang,
        )
        responder = _load_responder(args.responder)
    except (ValueError, ImportError, AttributeError) as exc:
        parser.error(str(exc))
    server = OpenAICompatibleServer(
        responder=responder,
        latency=args.latency,
        faults=faults,
        seed=args.seed,
        model_name=args.model_name,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
    )
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server.start()
    try:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        if not args.keep_stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
