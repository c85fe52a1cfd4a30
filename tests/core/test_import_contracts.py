"""The import-linter contract of the trading core names every core module, so that a new one cannot escape it.

The core is every module and package directly under trading/ except the capability apps (the subpackages
that are Django apps of their own: they have an apps.py), the project config and the migrations.
`lint-imports` itself runs in CI (python3 deploy/dev.py lint).
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRADING = ROOT / "trading"
NOT_CORE = {"config", "migrations"}


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def core_contract() -> dict:
    [contract] = [c for c in contracts() if c["name"].startswith("trading core")]
    return contract


def capability_apps() -> set[str]:
    return {f"trading.{p.parent.name}" for p in TRADING.glob("*/apps.py")}


def core_modules() -> set[str]:
    modules = set()
    for path in TRADING.iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            name = path.name
        elif path.suffix == ".py":
            name = path.stem
        else:
            continue
        if name not in NOT_CORE and f"trading.{name}" not in capability_apps():
            modules.add(f"trading.{name}")
    return modules


def test_the_core_contract_lists_every_core_module():
    listed = set(core_contract()["source_modules"])
    assert core_modules() - listed == set(), "core modules missing from [tool.importlinter] in pyproject.toml"
    assert listed - core_modules() == set(), "modules in the core contract that are not core modules"


def test_the_core_may_not_import_any_capability_app_or_the_config():
    forbidden = set(core_contract()["forbidden_modules"])
    assert capability_apps() <= forbidden
    assert {"trading.config", "bidding", "experts"} <= forbidden


def test_the_capability_apps_are_found():
    assert {"trading.credit", "trading.deposits", "trading.portal", "trading.supervision"} <= capability_apps()
    assert "trading.models" in core_modules() and "trading.config" not in core_modules()
