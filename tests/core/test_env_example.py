"""deploy/env.example names every environment variable trading/config/settings.py reads."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "trading" / "config" / "settings.py"
EXAMPLE = ROOT / "deploy" / "env.example"
HELPERS = {"env_str", "env_bool", "env_int", "env_list"}


def settings_variables() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HELPERS:
            first = node.args[0] if node.args else None
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"settings.py line {node.lineno}: name the variable with a string literal")
            names.add(first.value)
    return names


def example_variables() -> set[str]:
    """The names of NAME=value and commented-out # NAME=value lines."""
    return set(re.findall(r"(?m)^#?\s*([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(encoding="utf-8")))


def test_settings_reads_its_environment_through_the_helpers():
    assert "DATABASE_URL" in settings_variables() and "TRUSTED_PROXIES" in settings_variables()
    assert "os.environ" not in SETTINGS.read_text(encoding="utf-8")


def test_every_variable_settings_reads_is_in_env_example():
    example = example_variables()
    missing = {name for name in settings_variables() if name not in example and f"{name}_FILE" not in example}
    assert not missing, f"add these to deploy/env.example: {', '.join(sorted(missing))}"


def test_env_example_names_no_variable_settings_does_not_read():
    read = settings_variables()
    unknown = {name for name in example_variables() if name not in read and name.removesuffix("_FILE") not in read}
    assert not unknown, f"deploy/env.example names variables settings.py does not read: {sorted(unknown)}"
