"""Every way we start daphne lets a message through to the room's consumer, which closes it with 1009.

daphne's own limit (1 MiB by default) drops the TCP connection without a close frame, so each launcher sets
it well above ROOM_MESSAGE_MAX_BYTES.
"""

import importlib.util
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
LAUNCHERS = ["deploy/systemd/gongjiao-daphne@.service", "deploy/Dockerfile", "deploy/local-cluster"]


def dev_module():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "deploy" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_run_command_sets_daphne_limits_above_the_rooms():
    limits = dev_module().DAPHNE_WS_LIMITS
    sizes = dict(zip(limits[::2], map(int, limits[1::2]), strict=True))

    assert set(sizes) == {"--websocket-max-message-size", "--websocket-max-frame-size"}
    assert min(sizes.values()) >= 2 * 1024 * 1024 > settings.ROOM_MESSAGE_MAX_BYTES


def test_every_production_launcher_sets_the_same_limits():
    for launcher in LAUNCHERS:
        text = (ROOT / launcher).read_text(encoding="utf-8").replace('", "', " ").replace('"', "")
        assert "--websocket-max-message-size 8388608 --websocket-max-frame-size 8388608" in text, launcher
