"""An OpenAPI 3.x document (JSON or YAML) as a tool source: one function per operation, called over HTTP.

Each operation becomes a `FunctionSpec`. Its path, query and header parameters and the top-level properties of
its JSON request body are merged into one object schema (the body's own nesting is kept; a body that is not an
object with properties becomes a single `body` parameter). Its result schema is the 200/201 JSON response.
`$ref`s are resolved inside the document only: a ref to anything else is an error, and nothing is ever fetched.
An operation toolsynth cannot call (a form or multipart body, a required cookie) is skipped and listed in
`OpenAPISource.skipped`. Calls go to the base URL the user gives (or the document's first absolute server URL).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import yaml

from toolsynth.tools.contract import ToolOutcome, ToolSourceError
from toolsynth.tools.schemas import LocalRefs, pointer
from toolsynth.types import FunctionSpec

logger = logging.getLogger("toolsynth")

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
MAX_NAME = 64  # OpenAI's limit on function names
PERMISSIVE_RESULT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_SNIPPET = 300
_NOT_JSON_SCHEMA_KEYS = ("discriminator", "xml", "externalDocs")


class Unsupported(ToolSourceError):
    """A valid operation toolsynth cannot call (a form or multipart body, a required cookie): it is skipped."""


@dataclass(frozen=True)
class Operation:
    """How to turn one function's arguments into an HTTP request."""

    name: str
    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    header_params: tuple[str, ...]
    body_properties: tuple[str, ...] | None = None
    """The body's top-level property names, or None when the whole body is the `body` argument."""
    has_body: bool = False


@dataclass
class _Operations:
    specs: list[FunctionSpec] = field(default_factory=list)
    calls: dict[str, Operation] = field(default_factory=dict)


class _Document:
    """The loaded document; every error names the file and the JSON pointer of the bad field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = _load(path)
        self.refs = LocalRefs(self.root, "the document", self.error)

    def error(self, where: str, message: str) -> ToolSourceError:
        return ToolSourceError(f"{self.path}: {where or '/'}: {message}")

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        return self.refs.deref(node, where)

    def schema(self, node: Any, where: str) -> Any:
        """A JSON Schema from an OpenAPI schema object: refs inlined, OpenAPI-only keywords converted or dropped."""
        return self.refs.inline(node, where, _json_schema_from_openapi)


def _json_schema_from_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0's dialect to JSON Schema: `nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`, `example`
    as `examples`; no `discriminator`, `xml` or `externalDocs`."""
    if "example" in schema:
        example = schema.pop("example")
        schema.setdefault("examples", [example])
    for key in _NOT_JSON_SCHEMA_KEYS:
        schema.pop(key, None)
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(flag), bool) and schema.pop(flag) and bound in schema:
            schema[flag] = schema.pop(bound)
    return schema


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolSourceError(f"{path}: cannot read the OpenAPI document: {exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ToolSourceError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    try:
        return _plain_json(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ToolSourceError(f"{path}: {line}not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc


def _plain_json(node: Any) -> Any:
    """YAML's extra scalars (dates, timestamps) as the ISO text JSON would hold; keys as strings."""
    if isinstance(node, dict):
        return {str(k): _plain_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_json(v) for v in node]
    if isinstance(node, datetime.date | datetime.datetime):
        return node.isoformat()
    return node


def _is_json_media(media_type: str) -> bool:
    kind = media_type.split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _is_object_schema(schema: Any) -> bool:
    """A schema for JSON objects: `type: object`, or properties with no type."""
    return isinstance(schema, dict) and (
        schema.get("type") == "object" or ("type" not in schema and isinstance(schema.get("properties"), dict))
    )


def function_name(operation_id: Any, method: str, path: str) -> str:
    """An identifier of at most 64 characters from the operationId (kept as it is when it is one already), or from
    the method and path when there is none."""
    raw = operation_id.strip() if isinstance(operation_id, str) and operation_id.strip() else f"{method}_{path}"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", raw):
        name = raw
    else:
        name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", raw)).strip("_") or method
        name = f"op_{name}" if name[0].isdigit() else name
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 7]}_{hashlib.sha256(raw.encode()).hexdigest()[:6]}"
    return name


def absolute_url(url: Any) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


class OpenAPISource:
    """The operations of an OpenAPI 3.x document, called over HTTP at `base_url`."""

    def __init__(self, path: Path, base_url: str | None = None) -> None:
        self.path = Path(path)
        self.label = str(self.path)
        doc = _Document(self.path)
        self._doc = doc
        if not isinstance(doc.root, dict):
            raise doc.error("", "an OpenAPI document is a JSON/YAML object")
        version = doc.root.get("openapi")
        if not (isinstance(version, str) and version.startswith("3.")):
            found = f"'swagger: {doc.root['swagger']}'" if "swagger" in doc.root else f"openapi: {version!r}"
            raise doc.error("/openapi", f"only OpenAPI 3.x is supported (found {found})")
        self.base_url = self._base_url(base_url)
        self.skipped: list[str] = []
        """The operations left out, each as `pointer: why` (a form or multipart body, a required cookie)."""
        operations = self._operations()
        self._specs = operations.specs
        self._calls = operations.calls

    def _base_url(self, given: str | None) -> str:
        if given is not None:
            if not absolute_url(given):
                raise ToolSourceError(f"{self.path}: the base URL {given!r} is not an absolute http(s) URL")
            return given.rstrip("/")
        servers = self._doc.root.get("servers")
        first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
        url = first.get("url")
        variables = first.get("variables")
        if isinstance(url, str) and isinstance(variables, dict):
            for var, spec in variables.items():
                if isinstance(spec, dict) and "default" in spec:
                    url = url.replace("{" + var + "}", str(spec["default"]))
        if not absolute_url(url):
            why = f"servers[0].url is {url!r}, not absolute" if url is not None else "it has no servers[0].url"
            raise ToolSourceError(
                f"{self.path}: no base URL to call the API at ({why}); give one (--tools-base-url or base_url=)"
            )
        assert isinstance(url, str)
        return url.rstrip("/")

    def _operations(self) -> _Operations:
        doc = self._doc
        paths = doc.root.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise doc.error("/paths", "the document has no operations (paths is missing or empty)")
        out = _Operations()
        where_of: dict[str, str] = {}
        for route, item_node in paths.items():
            item, item_where = doc.deref(item_node, pointer("paths", route))
            if not isinstance(item, dict):
                raise doc.error(item_where, "a path item is an object")
            for method in METHODS:
                if method not in item:
                    continue
                where = f"{item_where}{pointer(method)}"
                try:
                    spec, call = self._operation(route, method, item, where)
                except Unsupported as exc:
                    self.skipped.append(str(exc))
                    logger.warning("%s: skipped the operation at %s", self.path, exc)
                    continue
                if spec.name in out.calls:
                    raise doc.error(where, f"function name {spec.name!r} is already used by {where_of[spec.name]}")
                where_of[spec.name] = where
                out.specs.append(spec)
                out.calls[spec.name] = call
        if not out.specs:
            why = f": every one is skipped ({'; '.join(self.skipped)})" if self.skipped else ""
            raise doc.error("/paths", f"the document has no operations toolsynth can call{why}")
        return out

    def _operation(self, route: str, method: str, item: dict[str, Any], where: str) -> tuple[FunctionSpec, Operation]:
        doc = self._doc
        op = item[method]
        if not isinstance(op, dict):
            raise doc.error(where, "an operation is an object")
        name = function_name(op.get("operationId"), method, route)
        properties: dict[str, Any] = {}
        required: list[str] = []
        origin: dict[str, str] = {}
        located: dict[str, list[str]] = {"path": [], "query": [], "header": []}

        def add(prop: str, schema: Any, is_required: bool, source: str) -> None:
            if prop in properties:
                raise doc.error(where, f"operation {name!r}: the {source} and the {origin[prop]} both define {prop!r}")
            properties[prop] = schema
            origin[prop] = source
            if is_required:
                required.append(prop)

        for param, param_where in self._parameters(item, op, where):
            kind = param["in"]
            if kind == "cookie":
                if param.get("required"):
                    raise Unsupported(f"{param_where}: a required cookie parameter")
                continue
            located[kind].append(param["name"])
            # A path parameter is always required (OpenAPI says so even where a document forgets to).
            is_required = kind == "path" or bool(param.get("required"))
            add(param["name"], self._parameter_schema(param, param_where), is_required, f"{kind} parameter")
        for placeholder in re.findall(r"{([^{}]+)}", route):
            if placeholder not in located["path"]:
                raise doc.error(
                    where, f"operation {name!r}: path {route!r} has {{{placeholder}}} but no such parameter"
                )
        body_properties: tuple[str, ...] | None = None
        has_body = False
        if "requestBody" in op:
            body_where = f"{where}/requestBody"
            body, body_where = doc.deref(op["requestBody"], body_where)
            schema = self._json_schema(body, body_where, "request body")
            if schema is not None:
                has_body = True
                body_required = bool(body.get("required")) if isinstance(body, dict) else False
                props = schema.get("properties") if _is_object_schema(schema) else None
                if isinstance(props, dict) and props:
                    inner_required = set(schema.get("required") or []) if body_required else set()
                    for prop, sub in props.items():
                        add(prop, sub, prop in inner_required, "request body")
                    body_properties = tuple(props)
                else:
                    add("body", schema, body_required, "request body")
        parameters: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            parameters["required"] = required
        spec = FunctionSpec(
            name=name,
            description=self._description(op, method, route),
            parameters=parameters,
            returns=self._returns(op, where),
        )
        call = Operation(
            name=name,
            method=method.upper(),
            path=route,
            path_params=tuple(located["path"]),
            query_params=tuple(located["query"]),
            header_params=tuple(located["header"]),
            body_properties=body_properties,
            has_body=has_body,
        )
        return spec, call

    def _parameters(self, item: dict[str, Any], op: dict[str, Any], where: str) -> Iterator[tuple[dict[str, Any], str]]:
        """Path-level then operation-level parameters; an operation's parameter replaces the path's of that name."""
        doc = self._doc
        chosen: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        item_where = where.rsplit("/", 1)[0]
        for owner, owner_where in ((item, item_where), (op, where)):
            listed = owner.get("parameters", [])
            if not isinstance(listed, list):
                raise doc.error(f"{owner_where}/parameters", "parameters is a list")
            for i, node in enumerate(listed):
                param, param_where = doc.deref(node, f"{owner_where}/parameters/{i}")
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    raise doc.error(param_where, "a parameter is an object with a string 'name'")
                if param.get("in") not in ("path", "query", "header", "cookie"):
                    raise doc.error(
                        f"{param_where}/in", f"'in' is {param.get('in')!r}, not path, query, header or cookie"
                    )
                chosen[(param["name"], param["in"])] = (param, param_where)
        yield from chosen.values()

    def _parameter_schema(self, param: dict[str, Any], where: str) -> Any:
        if "schema" in param:
            schema = self._doc.schema(param["schema"], f"{where}/schema")
        else:
            schema = self._json_schema(param, where, "parameter") or {"type": "string"}
        if isinstance(schema, dict) and "description" not in schema and isinstance(param.get("description"), str):
            schema = {**schema, "description": param["description"]}
        return schema

    def _json_schema(self, holder: Any, where: str, what: str) -> Any:
        """The schema of a `content` map's JSON media type (None when it has no content at all)."""
        content = holder.get("content") if isinstance(holder, dict) else None
        if content is None:
            return None
        if not isinstance(content, dict):
            raise self._doc.error(f"{where}/content", "content is an object keyed by media type")
        for media_type, media in content.items():
            if _is_json_media(media_type) or media_type.strip() == "*/*":
                if not isinstance(media, dict) or "schema" not in media:
                    return {}
                return self._doc.schema(media["schema"], f"{where}/content{pointer(media_type)}/schema")
        raise Unsupported(f"{where}/content: the {what} is not JSON ({', '.join(content)})")

    def _returns(self, op: dict[str, Any], where: str) -> dict[str, Any]:
        responses = op.get("responses")
        if not isinstance(responses, dict):
            return dict(PERMISSIVE_RESULT)
        for status in ("200", "201"):
            node = responses.get(status)
            if node is None:
                continue
            response, response_where = self._doc.deref(node, f"{where}/responses/{status}")
            content = response.get("content") if isinstance(response, dict) else None
            if not isinstance(content, dict) or not any(_is_json_media(m) for m in content):
                continue
            schema = self._json_schema(response, response_where, "response")
            if _is_object_schema(schema):
                return schema
            # A result that is not an object reaches the conversation as {"result": ...} (ToolOutcome.to_json).
            return {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        return dict(PERMISSIVE_RESULT)

    @staticmethod
    def _description(op: dict[str, Any], method: str, route: str) -> str:
        parts = [
            op[key].strip() for key in ("summary", "description") if isinstance(op.get(key), str) and op[key].strip()
        ]
        if len(parts) == 2 and parts[1].startswith(parts[0]):
            parts = parts[1:]
        return " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts) or f"{method.upper()} {route}"

    def functions(self) -> list[FunctionSpec]:
        return [spec.model_copy(deep=True) for spec in self._specs]

    async def open_session(self) -> OpenAPISession:
        return OpenAPISession(self.base_url, self._calls)

    def close(self) -> None:
        """Nothing to release: every session owns (and closes) its own HTTP client."""


class OpenAPISession:
    """One conversation's HTTP client; its calls share connections (and nothing else) until `close`."""

    def __init__(self, base_url: str, calls: dict[str, Operation]) -> None:
        self._base_url = base_url
        self._calls = calls
        self._client = httpx.AsyncClient(follow_redirects=True)

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        operation = self._calls.get(name)
        if operation is None:
            return _invalid(f"the API has no operation {name!r}")
        try:
            url, request = _request(self._base_url, operation, arguments)
        except ValueError as exc:
            return _invalid(str(exc))
        where = f"{operation.method} {url}"
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.request(operation.method, url, timeout=timeout, **request)
        except (TimeoutError, httpx.TimeoutException):
            return ToolOutcome(ok=False, error="tool_timeout", message=f"{where}: no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return ToolOutcome(ok=False, error="tool_raised", message=f"{where} failed: {type(exc).__name__}: {exc}")
        return _outcome(where, response)

    async def close(self) -> None:
        await self._client.aclose()


def _invalid(message: str) -> ToolOutcome:
    return ToolOutcome(ok=False, error="tool_arguments_invalid", message=message)


def _request(base_url: str, operation: Operation, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL and the `params`/`headers`/`json` of one call; a ValueError says what is wrong with the arguments."""
    body_names = set(operation.body_properties) if operation.body_properties is not None else {"body"}
    known = {*operation.path_params, *operation.query_params, *operation.header_params}
    if operation.has_body:
        known |= body_names
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ValueError(f"{operation.name} takes no argument {', '.join(map(repr, unknown))}")
    path = operation.path
    for param in operation.path_params:
        if arguments.get(param) is None:
            raise ValueError(f"{operation.name} needs the path argument {param!r}")
        path = path.replace("{" + param + "}", quote(_text(arguments[param]), safe=""))
    request: dict[str, Any] = {
        "params": {p: _query_value(arguments[p]) for p in operation.query_params if arguments.get(p) is not None},
        "headers": {p: _text(arguments[p]) for p in operation.header_params if arguments.get(p) is not None},
    }
    if operation.body_properties is not None:
        fields = {p: arguments[p] for p in operation.body_properties if p in arguments}
        if fields:
            request["json"] = fields
    elif operation.has_body and "body" in arguments:
        request["json"] = arguments["body"]
    return base_url + path, request


def _text(value: Any) -> str:
    """A path, query or header value as text: JSON spelling for booleans, objects and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list) or value is None:
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _query_value(value: Any) -> Any:
    """Lists become repeated keys (OpenAPI's default `form` style); objects are sent as JSON text."""
    if isinstance(value, list):
        return [_text(v) for v in value]
    return _text(value)


def _outcome(where: str, response: httpx.Response) -> ToolOutcome:
    """The answer as a result: its JSON, or an error for a status >= 400 or a body that is not JSON."""
    snippet = " ".join(response.text.split())[:_SNIPPET]
    if response.status_code >= 400:
        status = f"{where}: HTTP {response.status_code} {response.reason_phrase}"
        return ToolOutcome(ok=False, error="tool_http_error", message=f"{status}: {snippet}" if snippet else status)
    if not response.content.strip():
        return ToolOutcome(ok=True, result=None)
    try:
        return ToolOutcome(ok=True, result=response.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type")
        return ToolOutcome(
            ok=False, error="tool_result_not_json", message=f"{where}: the answer ({kind}) is not JSON: {snippet}"
        )
