"""The extension points are declared in one module, documented, all used, wired once, and the core imports
no feature app (DESIGN.md §3, STYLE.md "Where a capability lives")."""

import ast
import logging
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.dispatch import Signal

from trading import signals
from trading.sweeps import run_sweeps

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ["trading", "bidding", "experts", "timestamps"]
FORBIDDEN_FOR_CORE = ("bidding", "experts", "trading.deposits", "trading.credit", "trading.supervision",
                      "trading.portal", "trading.config")
CORE_SUBAPPS = ("deposits", "credit", "supervision", "portal", "complaints", "config", "migrations")


def declared() -> dict[str, Signal]:
    return {name: value for name, value in vars(signals).items() if isinstance(value, Signal)}


def source_files(*dirs: str):
    for folder in dirs:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_every_declared_signal_has_a_receiver_among_the_installed_apps():
    unheard = [name for name, signal in declared().items() if not signal.has_listeners()]
    assert declared() and unheard == []


def test_every_signal_has_a_docstring_saying_when_it_fires_and_what_it_sends():
    tree = ast.parse((ROOT / "trading" / "signals.py").read_text())
    body = tree.body
    documented = {}
    for node, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            name = node.targets[0].id
            doc = following.value.value if isinstance(following, ast.Expr) and isinstance(
                following.value, ast.Constant) else ""
            documented[name] = doc
    assert set(documented) == set(declared())
    for name, doc in documented.items():
        assert "Sent" in doc and "sender:" in doc and "receiver" in doc.lower(), name


def test_no_module_level_hook_list_or_importlib_lookup_is_left():
    hook_list = re.compile(r"^[A-Z][A-Z0-9_]*\s*:\s*list\s*=\s*\[\]", re.MULTILINE)
    leftovers = []
    for path in source_files(*APP_DIRS):
        text = path.read_text()
        if hook_list.search(text) or "importlib" in text:
            leftovers.append(str(path.relative_to(ROOT)))
    assert leftovers == []
    assert not (ROOT / "trading" / "credit" / "hooks.py").exists()


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_the_core_imports_no_feature_app():
    upward = []
    for path in source_files("trading"):
        relative = path.relative_to(ROOT / "trading")
        if relative.parts[0] in CORE_SUBAPPS or relative == Path("__init__.py"):  # __init__: the celery app
            continue
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_FOR_CORE):
                upward.append(f"{relative}: {name}")
    assert upward == []


def test_running_every_apps_ready_again_connects_nothing_twice():
    before = {name: len(signal.receivers) for name, signal in declared().items()}
    for config in apps.get_app_configs():
        if config.name.split(".")[0] in APP_DIRS:  # trading's scheduler starts only when serving, and once
            config.ready()
    assert {name: len(signal.receivers) for name, signal in declared().items()} == before


@pytest.mark.django_db
def test_a_failing_sweep_is_logged_and_does_not_stop_the_others(caplog):
    ran = []

    def sweep_broken(sender, **kwargs):
        raise RuntimeError("boom")

    def sweep_after(sender, *, now, **kwargs):
        ran.append(now)
        return 1

    signals.periodic_sweep.connect(sweep_broken, dispatch_uid="tests.sweep_broken")
    signals.periodic_sweep.connect(sweep_after, dispatch_uid="tests.sweep_after")
    try:
        with caplog.at_level(logging.ERROR, logger="trading.sweeps"):
            results = run_sweeps()
    finally:
        signals.periodic_sweep.disconnect(dispatch_uid="tests.sweep_broken")
        signals.periodic_sweep.disconnect(dispatch_uid="tests.sweep_after")
    assert results["broken"] == "error" and results["after"] == 1 and len(ran) == 1
    assert results["close_bidding"] == 0 and "deposit_refund_outbox" in results
    assert any("sweep broken failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_guard_error_reaches_the_caller_and_rolls_the_sign_up_back():
    from tests.factories import bidder_user, published_section
    from trading.models import Registration
    from trading.services.errors import DomainError
    from trading.services.registrations import registration_create

    def refuse(sender, **kwargs):
        raise DomainError("refused by a test guard")

    signals.registration_guard.connect(refuse, dispatch_uid="tests.refuse")
    try:
        with pytest.raises(DomainError, match="test guard"):
            registration_create(user=bidder_user(), section_id=published_section().pk)
    finally:
        signals.registration_guard.disconnect(dispatch_uid="tests.refuse")
    assert not Registration.objects.exists()
