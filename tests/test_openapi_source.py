"""OpenAPI documents as tool sources: spec conversion, local refs only, and real calls over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.tool_servers import HOTELS_SPEC, hotels_server
from toolsynth.tools.contract import ToolOutcome, ToolSession, ToolSource, ToolSourceError
from toolsynth.tools.loading import load_tool_source
from toolsynth.tools.openapi_source import OpenAPISource
from toolsynth.validators.functions import check_function_specs

BASE = "http://127.0.0.1:9"  # never contacted by the conversion tests


def write_doc(tmp_path: Path, paths: dict[str, Any], suffix: str = ".yaml", **extra: Any) -> Path:
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths, **extra}
    path = tmp_path / f"api{suffix}"
    path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc, sort_keys=False))
    return path


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def ok_json(schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def by_name(source: OpenAPISource) -> dict[str, Any]:
    return {f.name: f for f in source.functions()}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def call_once(source: OpenAPISource, name: str, arguments: dict[str, Any], timeout: float = 5) -> ToolOutcome:
    session = await source.open_session()
    try:
        return await session.call(name, arguments, timeout)
    finally:
        await session.close()


# --- conversion -------------------------------------------------------------------------------------------------


def test_the_example_spec_becomes_one_valid_function_per_operation() -> None:
    source = OpenAPISource(HOTELS_SPEC, base_url=BASE)
    assert isinstance(source, ToolSource)
    functions = by_name(source)
    assert list(functions) == ["searchHotels", "getHotel", "createBooking", "getBooking"]
    specs = [f.to_openai_tool() | {"returns": f.returns} for f in functions.values()]
    assert check_function_specs(specs) == []
    booking = functions["createBooking"]
    assert booking.parameters["required"] == ["hotel_id", "guest", "stay"]
    assert booking.parameters["properties"]["guest"]["properties"]["email"] == {"type": "string"}
    assert booking.parameters["properties"]["stay"]["required"] == ["check_in", "nights"]
    assert booking.returns["required"][:2] == ["booking_id", "hotel_id"]  # the 201 response, its $ref inlined
    hotel_id = {"type": "string", "description": "Hotel id", "examples": ["lis-01", "tor-02", "tyo-01"]}
    assert booking.parameters["properties"]["hotel_id"] == hotel_id
    # getHotel's parameter is a $ref to components/parameters, whose schema is a $ref to components/schemas.
    assert functions["getHotel"].parameters["properties"]["hotel_id"] == hotel_id
    assert "$ref" not in json.dumps([f.model_dump() for f in functions.values()])
    assert functions["searchHotels"].description == "Find hotels in a city. Hotels sorted by price, cheapest first."


def test_path_query_header_and_body_merge_into_one_object(tmp_path: Path) -> None:
    path = write_doc(
        tmp_path,
        {
            "/users/{user_id}/notes": {
                "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "post": {
                    "operationId": "add-note",
                    "parameters": [
                        {"name": "draft", "in": "query", "schema": {"type": "boolean"}, "description": "keep private"},
                        {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": json_body(
                        {
                            "type": "object",
                            "properties": {
                                "text": {"type": "string"},
                                "meta": {"type": "object", "properties": {"tags": {"type": "array"}}},
                            },
                            "required": ["text"],
                        }
                    ),
                    "responses": ok_json({"type": "object", "properties": {"id": {"type": "integer"}}}, "201"),
                },
            }
        },
    )
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    assert spec.name == "add_note"
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "user_id": {"type": "integer"},
            "draft": {"type": "boolean", "description": "keep private"},
            "X-Trace": {"type": "string"},
            "text": {"type": "string"},
            "meta": {"type": "object", "properties": {"tags": {"type": "array"}}},
        },
        "required": ["user_id", "text"],
    }
    assert spec.returns == {"type": "object", "properties": {"id": {"type": "integer"}}}


def test_a_body_that_is_not_an_object_becomes_the_body_parameter(tmp_path: Path) -> None:
    path = write_doc(
        tmp_path,
        {
            "/tags": {
                "put": {
                    "requestBody": json_body({"type": "array", "items": {"type": "string"}}),
                    "responses": ok_json({"type": "array", "items": {"type": "string"}}),
                }
            }
        },
    )
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    assert spec.name == "put_tags"  # no operationId: method and path
    assert spec.parameters["properties"] == {"body": {"type": "array", "items": {"type": "string"}}}
    assert spec.parameters["required"] == ["body"]
    # A list result reaches the conversation as {"result": [...]}, and its schema says so.
    assert spec.returns == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": {"type": "string"}}},
        "required": ["result"],
    }


def test_an_optional_body_makes_none_of_its_properties_required(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    path = write_doc(tmp_path, {"/x": {"post": {"requestBody": json_body(schema, required=False), "responses": {}}}})
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    assert "required" not in spec.parameters
    assert spec.returns == {"type": "object", "additionalProperties": True}


def test_a_name_in_two_places_is_an_error_naming_the_operation(tmp_path: Path) -> None:
    path = write_doc(
        tmp_path,
        {
            "/items/{id}": {
                "patch": {
                    "operationId": "patchItem",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "requestBody": json_body({"type": "object", "properties": {"id": {"type": "string"}}}),
                    "responses": {},
                }
            }
        },
    )
    with pytest.raises(ToolSourceError) as caught:
        OpenAPISource(path, base_url=BASE)
    message = str(caught.value)
    assert str(path) in message and "/paths/~1items~1{id}/patch" in message
    assert "'patchItem'" in message and "'id'" in message


def test_local_refs_are_inlined_through_chains_and_cycles_stop(tmp_path: Path) -> None:
    components = {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            },
            "Alias": {"$ref": "#/components/schemas/Node"},
        },
        "requestBodies": {"Tree": json_body({"$ref": "#/components/schemas/Alias"})},
    }
    path = write_doc(
        tmp_path,
        {
            "/trees": {
                "post": {
                    "operationId": "plant",
                    "requestBody": {"$ref": "#/components/requestBodies/Tree"},
                    "responses": ok_json({"$ref": "#/components/schemas/Node"}),
                }
            }
        },
        components=components,
    )
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    # The body is Alias -> Node, inlined; Node's children are Nodes again: a permissive placeholder instead.
    assert spec.parameters["properties"]["label"] == {"type": "string"}
    children = spec.parameters["properties"]["children"]
    assert children["type"] == "array"
    assert children["items"] == {"description": "(recursive: same schema as #/components/schemas/Node)"}
    assert spec.returns["properties"]["children"]["items"] == children["items"]
    assert "$ref" not in json.dumps(spec.model_dump())


def test_a_ref_chain_that_loops_is_an_error(tmp_path: Path) -> None:
    components = {
        "parameters": {"A": {"$ref": "#/components/parameters/B"}, "B": {"$ref": "#/components/parameters/A"}}
    }
    path = write_doc(
        tmp_path,
        {"/x": {"get": {"parameters": [{"$ref": "#/components/parameters/A"}], "responses": {}}}},
        components=components,
    )
    with pytest.raises(ToolSourceError, match="leads back to itself"):
        OpenAPISource(path, base_url=BASE)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any attempt to open a socket is recorded and refused."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize(
    "ref", ["https://example.com/schemas.yaml#/Pet", "other.yaml#/components/schemas/Pet", "file:///etc/passwd"]
)
def test_a_remote_ref_is_refused_and_never_fetched(tmp_path: Path, no_network: list[Any], ref: str) -> None:
    (tmp_path / "other.yaml").write_text("components: {schemas: {Pet: {type: object}}}\n")
    path = write_doc(tmp_path, {"/pets": {"get": {"operationId": "listPets", "responses": ok_json({"$ref": ref})}}})
    with pytest.raises(ToolSourceError) as caught:
        OpenAPISource(path, base_url=BASE)
    message = str(caught.value)
    assert str(path) in message and ref in message and "/paths/~1pets/get/responses/200" in message
    assert "nothing is fetched" in message or "none fetched" in message
    assert no_network == []


def test_a_local_ref_to_nothing_names_the_file_and_pointer(tmp_path: Path) -> None:
    path = write_doc(tmp_path, {"/a": {"get": {"responses": ok_json({"$ref": "#/components/schemas/Missing"})}}})
    with pytest.raises(ToolSourceError, match=r"/paths/~1a/get/responses/200/content/application~1json/schema: \$ref"):
        OpenAPISource(path, base_url=BASE)


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ([{"url": "https://api.example.test/v2/"}], "https://api.example.test/v2"),
        ([{"url": "http://{host}:8080", "variables": {"host": {"default": "127.0.0.1"}}}], "http://127.0.0.1:8080"),
    ],
)
def test_the_base_url_comes_from_the_first_absolute_server(tmp_path: Path, servers: Any, expected: str) -> None:
    path = write_doc(tmp_path, {"/a": {"get": {"responses": {}}}}, servers=servers)
    assert OpenAPISource(path).base_url == expected
    assert OpenAPISource(path, base_url="http://127.0.0.1:1234/").base_url == "http://127.0.0.1:1234"


@pytest.mark.parametrize("servers", [None, [{"url": "/api"}]])
def test_no_absolute_base_url_is_a_clear_error(tmp_path: Path, servers: Any) -> None:
    extra = {"servers": servers} if servers else {}
    path = write_doc(tmp_path, {"/a": {"get": {"responses": {}}}}, **extra)
    with pytest.raises(ToolSourceError, match=r"no base URL.*--tools-base-url"):
        OpenAPISource(path)
    with pytest.raises(ToolSourceError, match="not an absolute"):
        OpenAPISource(path, base_url="api.example.test")


def test_bad_documents_name_the_file_and_where(tmp_path: Path) -> None:
    swagger = tmp_path / "swagger.json"
    swagger.write_text(json.dumps({"swagger": "2.0", "paths": {}}))
    with pytest.raises(ToolSourceError, match=r"swagger.json: /openapi: only OpenAPI 3.x .*swagger: 2.0"):
        OpenAPISource(swagger, base_url=BASE)
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.0\npaths:\n  /a: [unclosed\n")
    with pytest.raises(ToolSourceError, match=r"broken.yaml: line \d+: not valid YAML"):
        OpenAPISource(broken, base_url=BASE)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"openapi": "3.0.0",\n "paths": }')
    with pytest.raises(ToolSourceError, match=r"bad.json: line 2: not valid JSON"):
        OpenAPISource(bad_json, base_url=BASE)
    bad_in = write_doc(tmp_path, {"/a": {"get": {"parameters": [{"name": "q", "in": "body"}], "responses": {}}}})
    with pytest.raises(ToolSourceError, match=r"/paths/~1a/get/parameters/0/in: 'in' is 'body'"):
        OpenAPISource(bad_in, base_url=BASE)
    unbound = write_doc(tmp_path, {"/a/{id}": {"get": {"operationId": "getA", "responses": {}}}})
    with pytest.raises(ToolSourceError, match=r"'getA': path '/a/\{id\}' has \{id\} but no such parameter"):
        OpenAPISource(unbound, base_url=BASE)


def test_operation_names_are_identifiers_and_unique(tmp_path: Path) -> None:
    path = write_doc(
        tmp_path,
        {
            "/v1/pets/{pet-id}": {
                # `required: true` forgotten: a path parameter is required all the same.
                "parameters": [{"name": "pet-id", "in": "path", "schema": {"type": "string"}}],
                "get": {"responses": {}},
                "delete": {"operationId": "2 remove.pet", "responses": {}},
            }
        },
        suffix=".json",
    )
    functions = by_name(OpenAPISource(path, base_url=BASE))
    assert list(functions) == ["get_v1_pets_pet_id", "op_2_remove_pet"]
    assert functions["op_2_remove_pet"].parameters["required"] == ["pet-id"]
    clash = write_doc(
        tmp_path,
        {
            "/a": {"get": {"operationId": "same", "responses": {}}},
            "/b": {"get": {"operationId": "same", "responses": {}}},
        },
    )
    with pytest.raises(
        ToolSourceError, match=r"/paths/~1b/get: function name 'same' is already used by /paths/~1a/get"
    ):
        OpenAPISource(clash, base_url=BASE)


def test_openapi_30_nullable_exclusive_bounds_and_example_become_json_schema(tmp_path: Path) -> None:
    schema = {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True, "example": 3}
    path = write_doc(
        tmp_path, {"/a": {"get": {"parameters": [{"name": "n", "in": "query", "schema": schema}], "responses": {}}}}
    )
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    assert spec.parameters["properties"]["n"] == {"type": ["integer", "null"], "exclusiveMinimum": 0, "examples": [3]}


# --- calls against the example server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hotels() -> Iterator[OpenAPISource]:
    with hotels_server() as url:
        source = OpenAPISource(HOTELS_SPEC, base_url=url)
        yield source
        source.close()


def test_calls_run_against_the_example_server(hotels: OpenAPISource) -> None:
    async def conversation() -> list[ToolOutcome]:
        session = await hotels.open_session()
        assert isinstance(session, ToolSession)
        found = await session.call("searchHotels", {"city": "Lisbon", "max_price": 100}, 5)
        booked = await session.call(
            "createBooking",
            {
                "hotel_id": "lis-02",
                "guest": {"name": "Ana", "email": "ana@example.test"},
                "stay": {"check_in": "2026-05-01", "nights": 3},
            },
            5,
        )
        again = await session.call("getBooking", {"booking_id": booked.result["booking_id"]}, 5)
        await session.close()
        return [found, booked, again]

    found, booked, again = run(conversation())
    assert found.ok and [h["hotel_id"] for h in found.result["hotels"]] == ["lis-02"]
    assert booked.ok and booked.result["total_price"] == 3 * found.result["hotels"][0]["price_per_night"]
    assert booked.result["hotel_id"] == "lis-02" and booked.result["check_in"] == "2026-05-01"
    assert again == booked  # the booking the server kept is the one the call returned


def test_path_parameters_are_url_encoded_and_error_statuses_are_tool_errors(hotels: OpenAPISource) -> None:
    outcome = run(call_once(hotels, "getHotel", {"hotel_id": "lis 01/../x"}))
    assert outcome.ok is False and outcome.error == "tool_http_error"
    assert "/hotels/lis%2001%2F..%2Fx: HTTP 404 Not Found" in outcome.message
    assert "no hotel 'lis 01/../x'" in outcome.message  # the server saw the value whole
    assert outcome.to_json() == {"error": {"code": "tool_http_error", "message": outcome.message}}
    bad = run(
        call_once(
            hotels,
            "createBooking",
            {"hotel_id": "lis-01", "guest": {"name": "A", "email": "a"}, "stay": {"check_in": "soon", "nights": 2}},
        )
    )
    assert bad.error == "tool_http_error" and "HTTP 422" in bad.message


def test_arguments_the_operation_cannot_take_are_rejected_before_any_request(hotels: OpenAPISource) -> None:
    unknown = run(call_once(hotels, "getHotel", {"hotel_id": "lis-01", "verbose": True}))
    assert (unknown.ok, unknown.error) == (False, "tool_arguments_invalid") and "'verbose'" in unknown.message
    missing = run(call_once(hotels, "getHotel", {}))
    assert missing.error == "tool_arguments_invalid" and "'hotel_id'" in missing.message
    nothing = run(call_once(hotels, "deleteHotel", {}))
    assert nothing.error == "tool_arguments_invalid" and "no operation 'deleteHotel'" in nothing.message


# --- calls against a misbehaving server -------------------------------------------------------------------------


class Misbehaving(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/slow":
            time.sleep(2)
            with contextlib.suppress(OSError):  # the client has given up by now
                self.answer(200, b"{}", "application/json")
        elif url.path == "/text":
            self.answer(200, b"<html>hello</html>", "text/html")
        elif url.path == "/empty":
            self.answer(204, b"", "application/json")
        elif url.path == "/crash":
            self.answer(500, b"Traceback: " + b"x" * 2000, "text/plain")
        else:
            self.echo()

    def do_POST(self) -> None:
        self.echo()

    def echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        seen = {
            "method": self.command,
            "path": urlsplit(self.path).path,
            "query": parse_qs(urlsplit(self.path).query),
            "trace": self.headers.get("X-Trace"),
            "body": json.loads(self.rfile.read(length)) if length else None,
        }
        self.answer(200, json.dumps(seen).encode(), "application/json")

    def answer(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAPISource]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    plain: dict[str, Any] = {"get": {"responses": {}}}
    paths = {
        "/slow": plain,
        "/text": plain,
        "/empty": plain,
        "/crash": plain,
        "/echo/{kind}": {
            "post": {
                "operationId": "echo",
                "parameters": [
                    {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "strict", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ],
                "requestBody": json_body(
                    {"type": "object", "properties": {"note": {"type": "object"}}}, required=False
                ),
                "responses": {},
            }
        },
    }
    path = write_doc(tmp_path_factory.mktemp("misbehaving"), paths)
    source = OpenAPISource(path, base_url=f"http://127.0.0.1:{server.server_address[1]}")
    yield source
    server.shutdown()
    server.server_close()


def test_a_request_carries_path_query_header_and_nested_body(misbehaving: OpenAPISource) -> None:
    arguments = {"kind": "a b", "tags": ["x", "y"], "strict": True, "X-Trace": "t-1", "note": {"deep": {"n": 1}}}
    outcome = run(call_once(misbehaving, "echo", arguments))
    assert outcome.ok, outcome.message
    assert outcome.result == {
        "method": "POST",
        "path": "/echo/a%20b",
        "query": {"tags": ["x", "y"], "strict": ["true"]},
        "trace": "t-1",
        "body": {"note": {"deep": {"n": 1}}},
    }
    bare = run(call_once(misbehaving, "echo", {"kind": "k"}))
    assert bare.result["body"] is None and bare.result["query"] == {}


def test_a_slow_answer_is_a_timeout_not_a_hang(misbehaving: OpenAPISource) -> None:
    started = time.monotonic()
    outcome = run(call_once(misbehaving, "get_slow", {}, timeout=0.3))
    assert (outcome.ok, outcome.error) == (False, "tool_timeout")
    assert "within 0.3 s" in outcome.message
    assert time.monotonic() - started < 1.5


def test_answers_that_are_not_json_or_fail_are_tool_errors(misbehaving: OpenAPISource) -> None:
    text = run(call_once(misbehaving, "get_text", {}))
    assert (text.ok, text.error) == (False, "tool_result_not_json")
    assert "text/html" in text.message and "<html>hello</html>" in text.message
    crash = run(call_once(misbehaving, "get_crash", {}))
    assert crash.error == "tool_http_error" and "HTTP 500" in crash.message
    assert len(crash.message) < 400  # a short body, not the whole traceback
    empty = run(call_once(misbehaving, "get_empty", {}))
    assert empty.ok and empty.result is None and empty.to_json() == {"result": None}


def test_an_unreachable_server_is_a_tool_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_doc(tmp_path, {"/a": {"get": {"operationId": "getA", "responses": {}}}})
    outcome = run(call_once(OpenAPISource(path, base_url=f"http://127.0.0.1:{port}"), "getA", {}))
    assert (outcome.ok, outcome.error) == (False, "tool_raised")
    assert "ConnectError" in outcome.message and f"127.0.0.1:{port}/a" in outcome.message


def test_values_in_enum_and_default_are_data_not_schemas(tmp_path: Path) -> None:
    schema = {"type": "object", "default": {"$ref": "#/nowhere", "nullable": True}, "enum": [{"example": 1}]}
    path = write_doc(tmp_path, {"/a": {"get": {"parameters": [{"name": "f", "in": "query", "schema": schema}]}}})
    (spec,) = OpenAPISource(path, base_url=BASE).functions()
    assert spec.parameters["properties"]["f"] == schema


def test_the_loader_dispatches_openapi_documents_here(tmp_path: Path) -> None:
    source = load_tool_source(str(HOTELS_SPEC), base_url=BASE)
    assert isinstance(source, OpenAPISource) and source.base_url == BASE
    as_json = tmp_path / "API.JSON"
    as_json.write_text(json.dumps(yaml.safe_load(HOTELS_SPEC.read_text())))
    assert [f.name for f in load_tool_source(str(as_json)).functions()] == [f.name for f in source.functions()]


def test_operations_toolsynth_cannot_call_are_skipped_and_listed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upload = {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}
    session = [{"name": "sid", "in": "cookie", "required": True, "schema": {"type": "string"}}]
    paths: dict[str, dict[str, Any]] = {
        "/files": {"post": {"operationId": "upload", "requestBody": upload}, "get": {"operationId": "listFiles"}},
        "/me": {"get": {"operationId": "whoAmI", "parameters": session}},
    }
    source = OpenAPISource(write_doc(tmp_path, paths), base_url=BASE)
    assert [f.name for f in source.functions()] == ["listFiles"]
    assert source.skipped == [
        "/paths/~1files/post/requestBody/content: the request body is not JSON (multipart/form-data)",
        "/paths/~1me/get/parameters/0: a required cookie parameter",
    ]
    assert "skipped the operation at /paths/~1files/post/requestBody/content" in caplog.text
    del paths["/files"]["get"]
    with pytest.raises(ToolSourceError, match=r"no operations toolsynth can call: every one is skipped \(/paths"):
        OpenAPISource(write_doc(tmp_path, paths), base_url=BASE)


def test_long_operation_ids_are_cut_to_64_characters_and_identifiers_kept(tmp_path: Path) -> None:
    long_id = "list_the_models_of_every_deployment_of_every_team_of_the_organisation_get"
    paths = {
        "/a": {"get": {"operationId": long_id}},
        "/b": {"get": {"operationId": long_id + "_v2"}},
        "/c/{prompt_id}": {
            "put": {
                "operationId": "update_prompt_prompts__prompt_id__put",
                "parameters": [{"name": "prompt_id", "in": "path", "schema": {"type": "string"}}],
            }
        },
    }
    names = list(by_name(OpenAPISource(write_doc(tmp_path, paths), base_url=BASE)))
    assert [len(n) for n in names[:2]] == [64, 64] and names[0] != names[1]
    assert names[0].startswith(long_id[:57])
    assert names[2] == "update_prompt_prompts__prompt_id__put"
