"""The code registry (`toolsynth.validators.registry`) is the whole truth about codes.

The product code (`toolsynth/`, `programs/`, `validators/`, `evals/`) is read as Python syntax trees for every form
that emits a code: a finding maker (`error`, `warning`, `info`, `Finding` from `validators.findings`), a
`StageRejected`, a `Rejection(codes=...)`, a `{"codes": [...]}` rejection record, a `JsonParseError`. A code given
as a literal is read directly; one given through a variable is followed to the literals assigned to it, or, for a
parameter of the enclosing function, to the arguments of every call of that function. Forwarding codes that were
emitted elsewhere (`codes(findings)`, `rejected.codes`, `exc.code`, `**stored`) adds none. Any other form fails the
test, so a new way of emitting codes must be taught to the scanner rather than slip past it.

Emitted == registered == documented (with the same severities), and every code is exercised by some test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolsynth.validators.registry import CODES, REGISTERED, codes_of

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("toolsynth", "programs", "validators", "evals")
NOT_EMITTERS = {"validators/findings.py", "validators/registry.py"}  # the makers themselves and the registry
FINDINGS_MODULE = "toolsynth.validators.findings"
REJECTION_FORMS = {"StageRejected": (1, "codes"), "Rejection": (None, "codes"), "JsonParseError": (0, "code")}
FORWARDED_ATTRIBUTES = {"code", "codes"}
FORWARDING_CALLS = {"codes"}


@dataclass(frozen=True)
class Emission:
    code: str
    severity: str
    where: str


class Unresolved(Exception):
    """A code expression the scanner cannot follow to literals."""


class Module:
    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.tree = ast.parse(source)
        self.parents = {child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}
        self.makers: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == FINDINGS_MODULE:
                for alias in node.names:
                    if alias.name in ("error", "warning", "info", "Finding"):
                        self.makers[alias.asname or alias.name] = alias.name

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None


def product_modules() -> list[Module]:
    names = sorted(p.relative_to(ROOT).as_posix() for top in PRODUCT for p in (ROOT / top).rglob("*.py"))
    return [Module(name, (ROOT / name).read_text(encoding="utf-8")) for name in names if name not in NOT_EMITTERS]


def called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


class Scanner:
    def __init__(self, modules: list[Module]) -> None:
        self.modules = modules

    def emissions(self) -> Iterator[Emission]:
        for module in self.modules:
            for node in ast.walk(module.tree):
                yield from self._emitted_by(module, node)

    def _emitted_by(self, module: Module, node: ast.AST) -> Iterator[Emission]:
        where = f"{module.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "codes":
                    yield from (Emission(c, "error", where) for c in self.resolve(value, module, node))
            return
        if not isinstance(node, ast.Call):
            return
        name = called_name(node)
        if isinstance(node.func, ast.Name) and name in module.makers:
            maker = module.makers[name]
            expr = argument(node, 0, "code")
            severity_expr = argument(node, 1, "severity") if maker == "Finding" else None
            if maker == "Finding":
                if not isinstance(severity_expr, ast.Constant):
                    raise Unresolved(f"{where}: Finding with a severity that is not a literal")
                maker = str(severity_expr.value)
        elif name in REJECTION_FORMS:
            position, keyword = REJECTION_FORMS[name]
            expr, maker = argument(node, position, keyword), "error"
            if expr is None and any(kw.arg is None for kw in node.keywords):
                return  # StageRejected(**stored): a stored rejection, its codes emitted when it was made
        else:
            return
        if expr is None:
            raise Unresolved(f"{where}: {ast.unparse(node)[:80]} without a code")
        yield from (Emission(c, maker, where) for c in self.resolve(expr, module, node))

    def resolve(self, expr: ast.expr, module: Module, at: ast.AST, depth: int = 0) -> set[str]:
        """The literal codes an expression can evaluate to."""
        where = f"{module.name}:{getattr(expr, 'lineno', '?')}"
        if depth > 8:
            raise Unresolved(f"{where}: {ast.unparse(expr)} passes through too many functions")
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                return {expr.value}
            if expr.value is None:
                return set()
        elif isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            return set().union(*(self.resolve(e, module, at, depth) for e in expr.elts))
        elif isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, module, at, depth) | self.resolve(expr.orelse, module, at, depth)
        elif isinstance(expr, ast.BoolOp):
            return set().union(*(self.resolve(v, module, at, depth) for v in expr.values))
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.resolve(expr.left, module, at, depth) | self.resolve(expr.right, module, at, depth)
        elif self._forwards(expr):
            return set()
        elif isinstance(expr, ast.Name):
            return self._resolve_name(expr, module, at, depth)
        raise Unresolved(f"{where}: cannot tell which codes `{ast.unparse(expr)}` emits; write them as literals")

    @staticmethod
    def _forwards(expr: ast.expr) -> bool:
        """Codes emitted elsewhere, passed on: `codes(findings)`, `rejected.codes`, `exc.code`."""
        if isinstance(expr, ast.Attribute):
            return expr.attr in FORWARDED_ATTRIBUTES
        return isinstance(expr, ast.Call) and called_name(expr) in FORWARDING_CALLS

    def _resolve_name(self, name: ast.Name, module: Module, at: ast.AST, depth: int) -> set[str]:
        function = module.function_of(at)
        if function is not None:
            params = [a.arg for a in [*function.args.posonlyargs, *function.args.args] if a.arg not in ("self", "cls")]
            if name.id in params or name.id in [a.arg for a in function.args.kwonlyargs]:
                return self._passed_to(
                    function.name, params.index(name.id) if name.id in params else None, name.id, module, depth
                )
        scopes = [function] if function is not None else []
        values = [
            node.value
            for scope in [*scopes, module.tree]
            for node in (ast.walk(scope) if scope is function else scope.body)
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and node.value is not None
            and any(name.id in {n.id for n in ast.walk(t) if isinstance(n, ast.Name)} for t in _targets(node))
        ]
        if not values:
            raise Unresolved(f"{module.name}:{name.lineno}: cannot tell which codes `{name.id}` holds")
        return set().union(*(self.resolve(v, module, v, depth + 1) for v in values))

    def _passed_to(self, function: str, position: int | None, keyword: str, home: Module, depth: int) -> set[str]:
        """Every code passed to parameter `keyword` of `function` (a private one is called only in its module)."""
        found: set[str] = set()
        callers = [home] if function.startswith("_") else self.modules
        calls = 0
        for module in callers:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call) and called_name(node) == function:
                    expr = argument(node, position, keyword)
                    if expr is not None:
                        calls += 1
                        found |= self.resolve(expr, module, node, depth + 1)
        if not calls:
            raise Unresolved(f"{home.name}: {function}'s `{keyword}` is a code, but no call passes one")
        return found


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


@pytest.fixture(scope="module")
def emitted() -> list[Emission]:
    return list(Scanner(product_modules()).emissions())


def documented() -> dict[str, set[str]]:
    """Code → the severities its table rows give it (a row may list several codes: `remote_ref`, `ref_...`)."""
    doc = (ROOT / "docs" / "validation-codes.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for names, severity in re.findall(r"^\| ((?:`[a-z_]+`(?:, )?)+) \| (\w+) \|", doc, flags=re.M):
        for name in re.findall(r"`([a-z_]+)`", names):
            out.setdefault(name, set()).add(severity)
    return out


def test_codes_are_registered_once() -> None:
    assert len(CODES) == len(REGISTERED)
    assert codes_of("reply") == {"output_unparseable", "output_field_missing", "output_field_invalid"} | {
        "reply_too_long",
        "reply_too_deep",
    }


def test_every_emitted_code_is_registered_with_the_severity_it_is_emitted_with(emitted: list[Emission]) -> None:
    unregistered = sorted({f"{e.code} ({e.where})" for e in emitted if e.code not in CODES})
    assert unregistered == []
    mismatched = sorted(
        f"{e.code}: emitted as {e.severity} at {e.where}, registered as {CODES[e.code].severity}"
        for e in emitted
        if e.severity != CODES[e.code].severity
    )
    assert mismatched == []


def test_every_registered_code_is_emitted(emitted: list[Emission]) -> None:
    assert set(CODES) - {e.code for e in emitted} == set()


def test_every_registered_code_is_documented_with_its_severity_and_nothing_else_is() -> None:
    docs = documented()
    assert set(docs) == set(CODES)
    assert {name: severities for name, severities in docs.items() if severities != {CODES[name].severity}} == {}


def test_every_code_is_exercised_by_a_test() -> None:
    here = Path(__file__)
    tests = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py") if p != here)
    assert sorted(code for code in CODES if f'"{code}"' not in tests) == []


def test_the_scanner_follows_codes_through_variables_and_parameters_and_refuses_what_it_cannot_read() -> None:
    source = (
        "from toolsynth.validators.findings import warning as note, error\n"
        "def _check(code):\n"
        "    return [error(code, '', 'x')]\n"
        "def run(flag):\n"
        "    kind = 'alpha_code' if flag else 'beta_code'\n"
        "    return _check(kind) + [note('gamma_code', '', 'y')]\n"
    )
    found = {(e.code, e.severity) for e in Scanner([Module("emitter.py", source)]).emissions()}
    assert found == {("alpha_code", "error"), ("beta_code", "error"), ("gamma_code", "warning")}
    dynamic = source + "def dynamic(prefix):\n    return error(f'{prefix}_code', '', 'z')\n"
    with pytest.raises(Unresolved, match="prefix"):
        list(Scanner([Module("emitter.py", dynamic)]).emissions())
