"""A responder that corrupts a seeded share of another responder's replies: what a bad model may send.

    corrupting = CorruptingResponder(rate=0.3, seed=7)  # wraps the demo responder
    with OpenAICompatibleServer(responder=corrupting) as server:
        ...
    corrupting.sent  # corrupted replies per kind: {"deep_nesting": 12, "empty": 9, ...}

Every chat request draws from a generator seeded by (seed, the request's messages and response format), so
a request always gets the same reply whatever order requests arrive in: a run is reproducible for a seed.
The kinds (`CORRUPTION_KINDS`), each made in named variants (`CorruptingResponder.variants` counts them):

- `random_json`: random JSON values (unicode text, big and tiny numbers, nesting), alone or under the reply's keys;
- `deep_nesting`: arrays or objects nested 1,000 to 100,000 levels, closed or not, alone or inside a field;
- `unbalanced_braces`: the reply truncated, with braces added or removed, after runs of `{`, inside prose;
- `huge_string`: replies of 10,000 to 1,000,000 characters, valid or not, including 1 MB replies cut short and
  replies just small enough for the reader's JSON repair pass, made to cost it the most;
- `invalid_unicode`: lone surrogates as JSON escapes (`\\udce9`) or raw, reversed pairs, and raw bytes that are
  not UTF-8 on the wire (`RawBytesReply`);
- `non_finite`: `NaN`, `Infinity`, `-Infinity`, `1e999`, `-1e999` in place of a value or as an extra field;
- `wrong_shape`: a list for an object, an object for a string, a missing field, an extra field, a scalar reply;
- `empty`: an empty, blank or `null` reply, an empty object, list or code fence;
- `remote_ref`: a `$ref` (or `$schema`) naming `ref_url` inside function schemas or other objects, so a run can
  check that nothing ever fetches it.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from toolsynth.outputs import MAX_REPAIR_CHARS
from toolsynth.testing.server import RawBytesReply, Responder, demo_responder

__all__ = ["CORRUPTION_KINDS", "CorruptingResponder", "Corruption", "CorruptionKind", "corrupt_reply"]

CorruptionKind = Literal[
    "random_json",
    "deep_nesting",
    "unbalanced_braces",
    "huge_string",
    "invalid_unicode",
    "non_finite",
    "wrong_shape",
    "empty",
    "remote_ref",
]
CORRUPTION_KINDS: tuple[CorruptionKind, ...] = get_args(CorruptionKind)

DEFAULT_REF_URL = "http://127.0.0.1:9/schema.json"
"""Where `remote_ref` points unless told otherwise: the discard port, where nothing answers."""
HUGE_CHARS = 1_000_000
"""The largest reply `huge_string` and `deep_nesting` send (about 1 MB)."""

Path = tuple[str | int, ...]
_SENTINEL = "\x00toolsynth-token\x00"


@dataclass(frozen=True)
class Corruption:
    """One corrupted reply: its kind, the variant of that kind, and the text sent."""

    kind: CorruptionKind
    variant: str
    text: str


class CorruptingResponder:
    """Answers like `inner`, except that a seeded share `rate` of replies is replaced or mangled (module doc)."""

    def __init__(
        self,
        rate: float,
        seed: int = 0,
        *,
        inner: Responder = demo_responder,
        kinds: Iterable[str] = CORRUPTION_KINDS,
        ref_url: str = DEFAULT_REF_URL,
    ) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("rate must be in [0, 1]")
        self.kinds: tuple[CorruptionKind, ...] = tuple(_check_kind(k) for k in kinds)
        if not self.kinds:
            raise ValueError("kinds must name at least one corruption kind")
        self.rate = rate
        self.seed = seed
        self.inner = inner
        self.ref_url = ref_url
        self._lock = threading.Lock()
        self._sent: Counter[str] = Counter()
        self._variants: Counter[str] = Counter()
        self._replies = 0

    def __call__(self, messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        reply = self.inner(messages, request)
        rng = random.Random(f"{self.seed}:{_request_digest(messages, request)}")
        corrupted = rng.random() < self.rate
        corruption = corrupt_reply(rng.choice(self.kinds), reply, rng, self.ref_url) if corrupted else None
        with self._lock:
            self._replies += 1
            if corruption is not None:
                self._sent[corruption.kind] += 1
                self._variants[f"{corruption.kind}/{corruption.variant}"] += 1
        return corruption.text if corruption is not None else reply

    @property
    def sent(self) -> dict[str, int]:
        """Corrupted replies sent, per kind (kinds never drawn are absent)."""
        with self._lock:
            return dict(self._sent)

    @property
    def variants(self) -> dict[str, int]:
        """Corrupted replies sent, per `kind/variant`."""
        with self._lock:
            return dict(self._variants)

    @property
    def replies(self) -> int:
        """Every reply made, corrupted or not."""
        with self._lock:
            return self._replies


def corrupt_reply(kind: str, reply: str, rng: random.Random, ref_url: str = DEFAULT_REF_URL) -> Corruption:
    """`reply` corrupted in one variant of `kind`, drawn from `rng`."""
    checked = _check_kind(kind)
    value = _as_object(reply)
    variant, text = _CORRUPTERS[checked](reply, value, rng, ref_url)
    return Corruption(checked, variant, text)


def _check_kind(kind: str) -> CorruptionKind:
    for known in CORRUPTION_KINDS:
        if kind == known:
            return known
    raise ValueError(f"unknown corruption kind {kind!r}; known: {', '.join(CORRUPTION_KINDS)}")


def _request_digest(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    key = json.dumps([messages, request.get("response_format")], sort_keys=True, default=str)  # ASCII: surrogates ok
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _as_object(reply: str) -> dict[str, Any]:
    """The inner reply as a JSON object to mangle; a reply that is not one becomes `{"answer": reply}`."""
    try:
        value = json.loads(reply)
    except ValueError:
        return {"answer": reply}
    return value if isinstance(value, dict) else {"answer": value}


# --------------------------------------------------------------------------- paths into a JSON value


def _paths(value: Any) -> list[Path]:
    """Every node's path, the root's `()` first, in a stable order."""
    found: list[Path] = []
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        found.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
    return found


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(root: Any, path: Path, new: Any) -> Any:
    """`root` with the node at `path` replaced (the root itself when `path` is empty)."""
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _pick(rng: random.Random, value: Any, where: Callable[[Any], bool], root: bool = False) -> Path | None:
    candidates = [p for p in _paths(value) if (root or p) and where(_get(value, p))]
    return rng.choice(candidates) if candidates else None


def _node(rng: random.Random, value: dict[str, Any], where: Callable[[Any], bool] = lambda _: True) -> Path:
    """A node (not the root) that `where` accepts; a new `"note": ""` field when there is none."""
    path = _pick(rng, value, where)
    if path is None:
        value["note"] = ""
        path = ("note",)
    return path


def _is_text(node: Any) -> bool:
    return isinstance(node, str)


def _is_object(node: Any) -> bool:
    return isinstance(node, dict)


def _with_tokens(value: Any, tokens: dict[str, str], ensure_ascii: bool = True) -> str:
    """JSON text of `value` where each string `"<sentinel>i"` is replaced by raw text (which JSON cannot say)."""
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    for name, raw in tokens.items():
        text = text.replace(json.dumps(name), raw)
    return text


def _token(i: int = 0) -> str:
    return f"{_SENTINEL}{i}"


# --------------------------------------------------------------------------- random values

_ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?-_",
    "\"\\/{}[]'`",
    "".join(map(chr, range(0x20))) + "\x7f",
    "éüßçñøåÆŒ€£¥",
    "天气预报汇率航班酒店餐厅",
    "😀😂🙏🚀🌧️👍🏽",
    "\u05d0\u05d1\u05d2\u0627\u0644\u200b\u200c\u200d\u200e\u200f\u2028\u2029\ufeff\ufffe\uffff",
)


def random_text(rng: random.Random, length: int) -> str:
    """Text drawn from a few alphabets (ASCII, JSON's own punctuation, control characters, scripts, emoji)."""
    alphabet = rng.choice(_ALPHABETS)
    return "".join(rng.choice(alphabet) for _ in range(length))


def random_value(rng: random.Random, budget: int = 5) -> Any:
    """A random JSON value with finite numbers: nesting at most `budget` levels deep."""
    choice = rng.randrange(7 if budget > 0 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.choice([0, -1, rng.randint(-1000, 1000), 2**63, -(2**64) + 1, 10 ** rng.randint(19, 300)])
    if choice == 3:
        return rng.choice([0.0, -0.0, 1e308, -1e-320, 5e-324, rng.uniform(-1e6, 1e6)])
    if choice == 4:
        return random_text(rng, rng.randint(0, 40))
    if choice == 5:
        return [random_value(rng, budget - 1) for _ in range(rng.randint(0, 4))]
    return {random_text(rng, rng.randint(0, 12)): random_value(rng, budget - 1) for _ in range(rng.randint(0, 4))}


# --------------------------------------------------------------------------- the kinds


def _random_json(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    variant = rng.choice(["value", "under_keys", "big_int"])
    if variant == "value":
        return variant, json.dumps(random_value(rng), ensure_ascii=rng.random() < 0.5)
    if variant == "under_keys":
        return variant, json.dumps({key: random_value(rng, 3) for key in value}, ensure_ascii=False)
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4_301, 6_000)))  # past int()'s limit
    return variant, _with_tokens(_set(value, _node(rng, value), _token()), {_token(): "1" + digits})


def _deep_nesting(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    depth = round(10 ** rng.uniform(3, 5))
    variant = rng.choice(["arrays", "objects", "unclosed", "in_field", "mixed"])
    if variant == "arrays":
        return variant, "[" * depth + "]" * depth
    if variant == "objects":
        return variant, '{"a":' * depth + "1" + "}" * depth
    if variant == "unclosed":
        return variant, rng.choice(["[", "{", '{"a":', '{"a":[']) * depth
    if variant == "mixed":
        half = depth // 2
        return variant, '{"a":[' * half + "0" + "]}" * half
    return variant, _with_tokens(_set(value, _node(rng, value), _token()), {_token(): "[" * depth + "]" * depth})


def _unbalanced_braces(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    text = json.dumps(value, ensure_ascii=False)
    variant = rng.choice(["truncated", "extra_close", "missing_close", "open_run", "close_run", "prose"])
    if variant == "truncated":
        return variant, text[: rng.randint(1, max(1, len(text) - 1))]
    if variant == "extra_close":
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice("}]") + text[at:]
        return variant, text
    if variant == "missing_close":
        closes = [i for i, c in enumerate(text) if c in "}]"]
        at = rng.choice(closes) if closes else len(text) - 1
        return variant, text[:at] + text[at + 1 :]
    if variant == "open_run":
        return variant, rng.choice("{[") * rng.randint(2, 5_000) + text
    if variant == "close_run":
        return variant, text + rng.choice("}]") * rng.randint(2, 5_000)
    return variant, f"Sure! Here is the JSON you asked for: {{ {text[: len(text) // 2]} ... hope that helps :}}"


def _huge_string(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    size = min(HUGE_CHARS, round(10 ** rng.uniform(4, 6)))
    variant = rng.choice(["field", "truncated_1mb", "prose", "many_keys", "repairable", "repair_bait"])
    if variant == "prose":
        return variant, _filler(rng, size)
    if variant == "repair_bait":  # unquoted keys and values: json_repair's cost grows with the square of the length
        pairs = rng.randint(MAX_REPAIR_CHARS // 12, MAX_REPAIR_CHARS // 6 - 1)
        return variant, "{" + ", ".join(["a: b"] * pairs) + "}"
    if variant == "many_keys":
        return variant, _many_keys(size)
    path = _node(rng, value, _is_text)
    room = HUGE_CHARS + 1_000 if variant == "truncated_1mb" else max(0, size - len(json.dumps(value)))
    text = json.dumps(_set(value, path, _filler(rng, room)), ensure_ascii=False)
    if variant == "truncated_1mb":
        return variant, text[:HUGE_CHARS]
    if variant == "repairable":  # single quotes: only a repair pass could read it
        return variant, text.replace('"', "'")
    return variant, text


def _filler(rng: random.Random, size: int) -> str:
    """Repeated text whose JSON string form (escapes included) takes at most `size` characters."""
    unit = rng.choice(["lorem ipsum dolor sit amet ", "天气很好。", "\\", "é", "{[", "🙂 "])
    written = len(json.dumps(unit, ensure_ascii=False)) - 2
    return unit * (size // written)


def _many_keys(size: int) -> str:
    """One flat object of about `size` characters: `{"k0": 0, "k1": 1, ...}`."""
    items: list[str] = []
    total = 2
    while total < size:
        items.append(f'"k{len(items)}": {len(items)}')
        total += len(items[-1]) + 2
    return "{" + ", ".join(items) + "}"


_LONE_SURROGATES = ("\udce9", "\ud800", "\udfff", "\udbff", "\udc80")


def _invalid_unicode(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    variant = rng.choice(["escaped_surrogate", "raw_surrogate", "raw_bytes", "reversed_pair", "in_key"])
    if variant == "raw_bytes":  # U+DC80..U+DCFF: surrogateescape's stand-ins for raw bytes 0x80..0xFF
        bad = "".join(chr(0xDC80 + rng.randrange(0x80)) for _ in range(rng.randint(1, 4)))
    elif variant == "reversed_pair":
        bad = "\udc00\ud800"
    else:
        bad = rng.choice(_LONE_SURROGATES)
    if variant == "in_key":
        path = _pick(rng, value, _is_object, root=True) or ()
        _get(value, path)["key" + bad] = "value"
    else:
        path = _node(rng, value, _is_text)
        text = _get(value, path)
        at = rng.randint(0, len(text))
        _set(value, path, text[:at] + bad + text[at:])
    if variant == "raw_bytes":
        return variant, RawBytesReply(json.dumps(value, ensure_ascii=False))
    return variant, json.dumps(value, ensure_ascii=variant != "raw_surrogate")


_NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")


def _non_finite(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    token = rng.choice(_NON_FINITE)
    numbers = _pick(rng, value, lambda node: isinstance(node, (int, float)) and not isinstance(node, bool))
    if numbers is not None and rng.random() < 0.5:
        return token, _with_tokens(_set(value, numbers, _token()), {_token(): token})
    if rng.random() < 0.5:
        return token, _with_tokens(_set(value, _node(rng, value), _token()), {_token(): token})
    path = _pick(rng, value, _is_object, root=True) or ()
    _get(value, path)["score"] = _token()
    return token, _with_tokens(value, {_token(): token})


def _wrong_shape(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    variant = rng.choice(sorted(_SHAPES))
    return variant, json.dumps(_SHAPES[variant](value, rng), ensure_ascii=False)


def _list_for_object(value: dict[str, Any], rng: random.Random) -> Any:
    path = _pick(rng, value, _is_object, root=True) or ()
    return _set(value, path, [_get(value, path)])


def _object_for_string(value: dict[str, Any], rng: random.Random) -> Any:
    path = _node(rng, value, _is_text)
    return _set(value, path, {"text": _get(value, path)})


def _missing_field(value: dict[str, Any], rng: random.Random) -> Any:
    path = _pick(rng, value, lambda node: isinstance(node, dict) and bool(node), root=True)
    if path is not None:
        holder = _get(value, path)
        del holder[rng.choice(sorted(holder))]
    return value


def _extra_field(value: dict[str, Any], rng: random.Random) -> Any:
    path = _pick(rng, value, _is_object, root=True) or ()
    _get(value, path)[rng.choice(["id", "type", "extra", "arguments", "name", "$defs"])] = random_value(rng, 2)
    return value


def _text_for_container(value: dict[str, Any], rng: random.Random) -> Any:
    path = _pick(rng, value, lambda node: isinstance(node, (dict, list)))
    return value if path is None else _set(value, path, json.dumps(_get(value, path), ensure_ascii=False))


def _scalar_reply(value: dict[str, Any], rng: random.Random) -> Any:
    return rng.choice([42, "ok", True, 1.5, ["a", "b"]])


_SHAPES: dict[str, Callable[[dict[str, Any], random.Random], Any]] = {
    "list_for_object": _list_for_object,
    "object_for_string": _object_for_string,
    "missing_field": _missing_field,
    "extra_field": _extra_field,
    "text_for_container": _text_for_container,
    "scalar_reply": _scalar_reply,
}


_EMPTY = (
    ("empty", ""),
    ("blank", " \n\t "),
    ("null", "null"),
    ("empty_object", "{}"),
    ("empty_list", "[]"),
    ("empty_string", '""'),
    ("empty_fence", "```json\n```"),
)


def _empty(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    return rng.choice(_EMPTY)


def _remote_ref(reply: str, value: dict[str, Any], rng: random.Random, ref_url: str) -> tuple[str, str]:
    schemas = [
        p
        for p in _paths(value)
        if p and p[-1] in ("parameters", "returns", "properties") and isinstance(_get(value, p), dict)
    ]
    if schemas and rng.random() < 0.8:
        path = rng.choice(schemas)
        variant = rng.choice(["ref_schema", "ref_property", "schema_uri"])
        node = _get(value, path)
        if variant == "ref_schema":
            _set(value, path, {"$ref": ref_url})
        elif variant == "ref_property":
            node[rng.choice(sorted(node) or ["x"])] = {"$ref": f"{ref_url}#/definitions/x"}
        else:
            node["$schema"] = ref_url
        return variant, json.dumps(value, ensure_ascii=False)
    path = _pick(rng, value, _is_object, root=True) or ()
    _get(value, path)["$ref"] = ref_url
    return "ref_in_object", json.dumps(value, ensure_ascii=False)


_CORRUPTERS: dict[CorruptionKind, Callable[[str, dict[str, Any], random.Random, str], tuple[str, str]]] = {
    "random_json": _random_json,
    "deep_nesting": _deep_nesting,
    "unbalanced_braces": _unbalanced_braces,
    "huge_string": _huge_string,
    "invalid_unicode": _invalid_unicode,
    "non_finite": _non_finite,
    "wrong_shape": _wrong_shape,
    "empty": _empty,
    "remote_ref": _remote_ref,
}
