"""The consumers the exports are proven in, loaded from their installed packages (nothing of theirs is copied here).

The light ones come with the `dev` extra (datasets, transformers, mistral-common, openai). LLaMA-Factory and TRL
pull torch through their dependencies, so they are installed with `--no-deps` from `consumers-no-deps.txt`; a
test that needs one is skipped, saying so, when it is absent.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any

import pytest

NO_DEPS_REQUIREMENTS = Path(__file__).with_name("consumers-no-deps.txt")
INSTALL_NO_DEPS = f"pip install --no-deps -r {NO_DEPS_REQUIREMENTS.relative_to(Path(__file__).parents[2])}"


def package_dir(name: str, install: str) -> Path:
    """Where an installed package lives, found without importing it; the test is skipped when it is absent."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed; `{install}` brings it")
    return Path(next(iter(spec.submodule_search_locations)))


def trl_chat_template(name: str) -> str:
    """A chat template shipped in TRL's wheel (`trl/chat_templates/NAME.jinja`)."""
    return (package_dir("trl", INSTALL_NO_DEPS) / "chat_templates" / f"{name}.jinja").read_text(encoding="utf-8")


def trl_response_template(name: str) -> dict[str, Any]:
    """A response template TRL defines to parse a model's reply (tool calls included) back into a message."""
    package_dir("trl", INSTALL_NO_DEPS)
    templates = importlib.import_module("trl.chat_template_utils")
    template: dict[str, Any] = getattr(templates, name)
    return template


LLAMAFACTORY_CONSTANTS = ("DATA_CONFIG", "RUNNING_LOG", "FILEEXT2TYPE")
"""The constants LLaMA-Factory's data modules read from `extras.constants`."""


@cache
def llamafactory_data() -> types.SimpleNamespace:
    """LLaMA-Factory's own data modules: `parser`, `converter`, `data_utils`, `formatter`, `tool_utils`.

    They are imported from the installed package as they are. Three modules around them import torch at import
    time, so they are stood in for: the `llamafactory.data` package (its `__init__` imports the collators; here a
    package with the same path and nothing run), `extras.constants` (here only the constants above, read from the
    installed file's own assignments) and `extras.misc` (only the two hub switches the dataset parser asks, both
    off: the export is a local file).
    """
    root = package_dir("llamafactory", INSTALL_NO_DEPS)
    if "llamafactory.data.converter" not in sys.modules:
        _stand_in("llamafactory.data", __path__=[str(root / "data")])
        _stand_in("llamafactory.extras.constants", **_constants(root / "extras" / "constants.py"))
        _stand_in("llamafactory.extras.misc", use_modelscope=lambda: False, use_openmind=lambda: False)
    modules = ("parser", "converter", "data_utils", "formatter", "tool_utils")
    return types.SimpleNamespace(**{m: importlib.import_module(f"llamafactory.data.{m}") for m in modules})


def _stand_in(name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def _constants(path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in LLAMAFACTORY_CONSTANTS:
                    values[target.id] = ast.literal_eval(node.value)
    missing = set(LLAMAFACTORY_CONSTANTS) - set(values)
    assert not missing, f"{path} no longer defines {sorted(missing)}"
    return values
