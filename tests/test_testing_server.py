"""The local OpenAI-compatible test server: raw HTTP behaviour of every fault, then the dspy + litellm path."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import contextlib
import http.client
import json
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import dspy
import pytest

from toolsynth.execution import retry_after_seconds
from toolsynth.testing import FAULT_NAMES, Faults, Latency, OpenAICompatibleServer, echo_responder

ANSWER = '{"answer": 4}'


def fixed(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    return ANSWER


def post(
    server: OpenAICompatibleServer,
    body: dict[str, Any] | None = None,
    path: str = "/v1/chat/completions",
    timeout: float = 5.0,
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    payload = body if body is not None else {"model": "toolsynth-test", "messages": [{"role": "user", "content": "hi"}]}
    conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response, response.read()


@pytest.fixture
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(responder=fixed, seed=0) as srv:
        yield srv


# --------------------------------------------------------------------------- raw HTTP


def test_completion_is_an_openai_chat_completion(server: OpenAICompatibleServer) -> None:
    seen: list[dict[str, Any]] = []

    def responder(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        seen.append(request)
        return "hello there"

    server.configure(responder=responder)
    assert server.url == f"http://127.0.0.1:{server.port}/v1"
    for path in ("/v1/chat/completions", "/chat/completions"):
        response, raw = post(
            server,
            {"model": "m1", "messages": [{"role": "user", "content": "abcdefgh"}], "temperature": 0.3},
            path=path,
        )
        assert response.status == 200
        body = json.loads(raw)
        assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
        assert body["model"] == "m1" and isinstance(body["created"], int)
        choice = body["choices"][0]
        assert choice["message"]["role"] == "assistant" and choice["message"]["content"] == "hello there"
        assert choice["finish_reason"] == "stop" and choice["index"] == 0
        usage = body["usage"]
        assert usage["completion_tokens"] == 3 and usage["prompt_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert seen[0]["temperature"] == 0.3


def test_keep_alive_reuses_one_connection_without_nagle_stalls(server: OpenAICompatibleServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    sockets, times = [], []
    for _ in range(10):
        started = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", json.dumps({"messages": []}))
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 200 and response.getheader("Connection") != "close"
        sockets.append(conn.sock)
    assert sockets[0] is not None and sockets.count(sockets[0]) == 10
    assert statistics.median(times) < 0.02  # ~0.04 s per call with Nagle + delayed ACK
    conn.close()


def test_models_and_client_errors(server: OpenAICompatibleServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    models = json.loads(response.read())
    assert response.status == 200 and models["data"][0]["id"] == "toolsynth-test"

    response, raw = post(server, {"messages": [], "stream": True})
    assert response.status == 400 and json.loads(raw)["error"]["param"] == "stream"
    response, raw = post(server, {"no": "messages"})
    assert response.status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
    response, raw = post(server, path="/v1/embeddings")
    assert response.status == 404 and "error" in json.loads(raw)


def test_responder_exception_is_a_500(server: OpenAICompatibleServer) -> None:
    def broken(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        raise RuntimeError("boom")

    server.configure(responder=broken)
    response, raw = post(server)
    assert response.status == 500 and "boom" in json.loads(raw)["error"]["message"]
    assert server.requests[-1].error == "RuntimeError: boom"


ERROR_FAULTS = {  # fault -> (status, error.code)
    "rate_limit": (429, "rate_limit_exceeded"),
    "server_error": (500, None),
    "auth": (401, "invalid_api_key"),
    "bad_request": (400, "model_not_found"),
}


@pytest.mark.parametrize("fault", sorted(ERROR_FAULTS))
def test_error_faults(server: OpenAICompatibleServer, fault: str) -> None:
    server.configure(faults=Faults(script=[fault], retry_after=2))
    response, raw = post(server)
    status, code = ERROR_FAULTS[fault]
    error = json.loads(raw)["error"]
    assert response.status == status and error["code"] == code and error["message"]
    if fault == "rate_limit":
        assert response.getheader("Retry-After") == "2" and response.getheader("retry-after-ms") == "2000"
    assert post(server)[0].status == 200  # the script is spent
    assert [(r.fault, r.status) for r in server.requests] == [(fault, status), (None, 200)]


def test_malformed_json(server: OpenAICompatibleServer) -> None:
    server.configure(faults=Faults(script=["malformed_json"]))
    response, raw = post(server)
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_truncated_body(server: OpenAICompatibleServer) -> None:
    server.configure(faults=Faults(script=["truncated"]))
    with pytest.raises(http.client.IncompleteRead):
        post(server)
    assert server.requests[-1].fault == "truncated"


def test_drop_closes_without_response(server: OpenAICompatibleServer) -> None:
    server.configure(faults=Faults(script=["drop"]))
    with pytest.raises(http.client.RemoteDisconnected):
        post(server)
    assert server.requests[-1].status is None


def test_timeout_stalls_and_stop_interrupts_it() -> None:
    srv = OpenAICompatibleServer(responder=fixed, faults=Faults(script=["timeout"], hang_seconds=60)).start()
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        post(srv, timeout=0.3)
    assert srv.stats().in_flight == 1  # still stalling after the client gave up
    before = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - before < 1.0 and time.perf_counter() - started < 2.0
    assert srv.requests[-1].fault == "timeout" and srv.stats().in_flight == 0
    assert not srv._connections  # every handler thread finished
    srv.stop()  # idempotent


def test_stop_cuts_idle_keep_alive_connections() -> None:
    srv = OpenAICompatibleServer(responder=fixed).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", json.dumps({"messages": []}))
    conn.getresponse().read()
    before = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - before < 1.0 and not srv._connections
    conn.close()


# --------------------------------------------------------------------------- schedules, latency, stats


def fault_sequence(faults: Faults, seed: int, n: int) -> list[str | None]:
    with OpenAICompatibleServer(responder=fixed, faults=faults, seed=seed) as srv:
        for _ in range(n):
            with contextlib.suppress(http.client.HTTPException, OSError):
                post(srv)
        return [r.fault for r in srv.requests]


def test_rates_are_seeded_and_script_then_every_take_precedence() -> None:
    rates = Faults(rates={"server_error": 0.3, "rate_limit": 0.2})
    first = fault_sequence(rates, seed=7, n=40)
    assert first == fault_sequence(rates, seed=7, n=40)
    assert first != fault_sequence(rates, seed=8, n=40)
    assert 8 <= first.count("server_error") <= 20 and 3 <= first.count("rate_limit") <= 15

    mixed = Faults(script=["auth", None, "ok"], every={"bad_request": 2})
    assert fault_sequence(mixed, seed=0, n=6) == ["auth", None, None, "bad_request", None, "bad_request"]


def test_script_may_be_an_iterator() -> None:
    assert fault_sequence(Faults(script=iter(["server_error"] * 2)), seed=0, n=3) == ["server_error"] * 2 + [None]


def test_latency_models() -> None:
    assert Latency.parse("none") == Latency() and Latency.parse("0.25") == Latency.fixed(0.25)
    assert Latency.parse("lognormal:1.0:0.6") == Latency.lognormal(1.0, 0.6)
    for bad in ("lognormal:1", "fast", "fixed:-1", "lognormal:0:1"):
        with pytest.raises(ValueError):
            Latency.parse(bad)
    lognormal = Latency.lognormal(0.5, 0.6)
    draws = [lognormal.sample(random.Random(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = random.Random(0)
    samples = sorted(lognormal.sample(rng) for _ in range(2001))
    assert 0.45 < samples[1000] < 0.55 and samples[-1] > 1.0
    assert Latency.fixed(0.2).sample(rng) == 0.2 and Latency().sample(rng) == 0.0


def test_fault_config_validation() -> None:
    assert Faults.parse_rates("rate_limit=0.1, server_error=0.05") == {"rate_limit": 0.1, "server_error": 0.05}
    assert Faults.parse_script("drop,ok,timeout") == ["drop", None, "timeout"]
    assert Faults.parse_every("auth=3") == {"auth": 3}
    for bad in (
        {"rates": {"nope": 0.1}},
        {"rates": {"drop": 0.7, "auth": 0.4}},
        {"every": {"drop": 0}},
        {"script": ["drop", "explode"]},
    ):
        with pytest.raises(ValueError):
            Faults(**bad)
    assert set(FAULT_NAMES) == {
        "rate_limit",
        "server_error",
        "timeout",
        "malformed_json",
        "truncated",
        "drop",
        "auth",
        "bad_request",
    }


def test_latency_is_applied_concurrently_and_counted() -> None:
    with OpenAICompatibleServer(responder=echo_responder, latency=Latency.fixed(0.2)) as srv:
        results: list[int] = []

        def call() -> None:
            results.append(post(srv)[0].status)

        threads = [threading.Thread(target=call) for _ in range(32)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        assert results == [200] * 32
        assert 0.2 <= elapsed < 0.9  # concurrent; a burst of connects isn't dropped by a small listen backlog
        assert srv.wait_idle(timeout=2.0)  # each handler's bookkeeping ends just after its client has the reply
        stats = srv.stats()
        assert stats.chat_requests == stats.completions == 32 and stats.by_status == {200: 32}
        assert stats.max_in_flight > 1 and stats.in_flight == 0
        assert all(r.latency == 0.2 and r.duration >= 0.2 for r in srv.requests)
        srv.reset_stats()
        assert srv.requests == [] and srv.stats().requests == 0


def test_command_line_process() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolsynth.testing.server",
            "--port",
            "0",
            "--responder",
            "echo",
            "--seed",
            "1",
            "--fault-script",
            "rate_limit,ok",
            "--latency",
            "fixed:0.01",
            "--fault-rate",
            "server_error=0.0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert proc.stdout.read() == ""  # stdout is detached right after the URL line
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.path == "/v1" and parts.port
        statuses = []
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=5)
            conn.request("POST", "/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "yo"}]}))
            response = conn.getresponse()
            statuses.append((response.status, json.loads(response.read())))
        assert statuses[0][0] == 429 and statuses[1][1]["choices"][0]["message"]["content"] == "yo"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


# --------------------------------------------------------------------------- through dspy + litellm


class Sum(dspy.Signature):
    """Add the numbers."""

    question: str = dspy.InputField()
    answer: int = dspy.OutputField()


@pytest.fixture(scope="module")
def lm_server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(responder=fixed) as srv:
        # The first litellm call of a process pays its imports (seconds); keep that out of the timed tests,
        # whichever of them random order runs first.
        predict(srv, Faults())
        yield srv


def predict(
    server: OpenAICompatibleServer, faults: Faults, num_retries: int = 0, timeout: float | None = None
) -> dspy.Prediction:
    server.configure(faults=faults)
    server.reset_stats()
    kwargs: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
    lm = dspy.LM(
        "openai/toolsynth-test",
        api_base=server.url,
        api_key="test-key",
        engine="litellm",
        cache=False,
        num_retries=num_retries,
        **kwargs,
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return dspy.Predict(Sum)(question="2 + 2?")


def test_dspy_parses_a_typed_prediction(lm_server: OpenAICompatibleServer) -> None:
    prediction = predict(lm_server, Faults())
    assert prediction.answer == 4
    (record,) = lm_server.requests
    assert record.model == "toolsynth-test" and record.status == 200


def test_dspy_retries_a_rate_limit(lm_server: OpenAICompatibleServer) -> None:
    assert predict(lm_server, Faults(script=["rate_limit"], retry_after=0), num_retries=1).answer == 4
    assert [(r.fault, r.status) for r in lm_server.requests] == [("rate_limit", 429), (None, 200)]


# fault -> (DSPy error class, retryable). Through litellm every transport-level failure arrives as a 5xx.
DSPY_ERRORS: dict[str, tuple[type[dspy.LMError], bool]] = {
    "rate_limit": (dspy.LMRateLimitError, True),
    "server_error": (dspy.LMServerError, True),
    "malformed_json": (dspy.LMServerError, True),
    "truncated": (dspy.LMServerError, True),
    "drop": (dspy.LMServerError, True),
    "timeout": (dspy.LMTimeoutError, True),
    "auth": (dspy.LMAuthError, False),
    "bad_request": (dspy.LMUnsupportedModelError, False),
}


@pytest.mark.parametrize("fault", sorted(DSPY_ERRORS))
def test_dspy_error_for_each_fault(lm_server: OpenAICompatibleServer, fault: str) -> None:
    error_class, retryable = DSPY_ERRORS[fault]
    # Non-retryable faults get retries to prove DSPy doesn't use them; retryable ones get none (1 s backoff).
    retries = 0 if retryable else 2
    started = time.perf_counter()
    with pytest.raises(dspy.LMError) as caught:
        predict(lm_server, Faults(script=[fault], retry_after=0, hang_seconds=1.5), num_retries=retries, timeout=0.5)
    assert time.perf_counter() - started < 1.4  # the 0.5 s timeout reached litellm; nothing hangs
    assert type(caught.value) is error_class and dspy.is_retryable_lm_error(caught.value) is retryable
    lm_server.wait_idle(timeout=3.0)  # let a `timeout` stall end
    assert [(r.fault, r.status is None) for r in lm_server.requests] == [(fault, fault in ("drop", "timeout"))]
    if fault == "rate_limit":
        # Older DSPy/litellm releases drop the Retry-After hint on the litellm engine (`retry_after` is None),
        # newer ones keep it; toolsynth reads it either way, from DSPy's error or the provider's headers.
        assert caught.value.retry_after in (None, 0.0)
        assert retry_after_seconds(caught.value) == 0.0
