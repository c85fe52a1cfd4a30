#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11: the README's two commands.

    python3 deploy/dev.py run    # the whole platform on http://127.0.0.1:8000 with demo data
    python3 deploy/dev.py test   # the test suite
    python3 deploy/dev.py lint   # ruff and the import-linter contracts (CI runs it before the tests)

It creates .venv, installs the pinned Python packages (requirements/run.txt or requirements/dev.txt,
with hashes) and the project with pip, installs the Debian packages of deploy/system-packages.txt with
apt-get when it runs as root (or with sudo -n), then runs.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
SYSTEM_PACKAGES = ROOT / "deploy" / "system-packages.txt"
# daphne's own WebSocket limit (default 1 MiB) drops the TCP connection without a close frame. Set it well
# above ROOM_MESSAGE_MAX_BYTES so that the room's consumer sees an over-size message and closes with 1009.
DAPHNE_WS_LIMITS = ["--websocket-max-message-size", "8388608", "--websocket-max-frame-size", "8388608"]


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def python311() -> str:
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if not found:
        sys.exit("Python 3.11 is required (python3.11 was not found on PATH).")
    return found


def ensure_venv(kind: str) -> None:
    """Install requirements/<kind>.txt (pinned, with hashes) and then the project itself without deps."""
    if not PY.exists():
        say("creating .venv")
        run(python311(), "-m", "venv", VENV)
    lock = ROOT / "requirements" / f"{kind}.txt"
    stamp = VENV / f".installed-{kind}"
    digest = hashlib.sha256()
    for path in (lock, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    wanted = digest.hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say(f"installing Python packages (pip, {lock.relative_to(ROOT)})")
    run(PY, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", lock)
    run(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
    stamp.write_text(wanted)


def system_packages(kind: str) -> dict[str, list[str]]:
    """deploy/system-packages.txt: {package: paths} of the packages `kind` ("run" or "test") needs."""
    packages = {}
    for line in SYSTEM_PACKAGES.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        name, needed_by, *paths = fields
        if needed_by not in {"run", "test"} or not paths:
            sys.exit(f"{SYSTEM_PACKAGES}: bad line: {line}")
        if kind == "test" or needed_by == "run":
            packages[name] = paths
    return packages


def ensure_debian_packages(packages: dict[str, list[str]]) -> None:
    missing = [name for name, paths in packages.items() if not all(Path(p).exists() for p in paths)]
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None:
        say(f"apt-get is not available; missing: {' '.join(missing)}")
        return
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        say(f"not root and no sudo; install these yourself: {' '.join(missing)}")
        return
    say(f"installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, apt, "update", "-qq"], check=False, env=env)
    subprocess.run([*sudo, apt, "install", "-y", "-qq", "--no-install-recommends", *missing], check=False,
                   env=env, stdout=subprocess.DEVNULL)


def manage(*args) -> None:
    run(PY, "manage.py", *args)


def cmd_run() -> None:
    ensure_venv("run")
    ensure_debian_packages(system_packages("run"))
    manage("migrate", "--noinput", "-v", "0")
    manage("master_key")  # where the key that opens sealed bids is, and how to back it up (moved out of var/)
    manage("tsa_init")
    # The embedded demo only: the demo robot decrypts for bidder2-bidder4 in the live demo opening.
    os.environ.setdefault("DEMO_ROBOT", "1")
    manage("seed_demo")
    port = os.environ.get("PORT", "8000")
    say(f"the platform is up on http://127.0.0.1:{port} (Ctrl-C stops it)")
    os.execv(str(PY), [str(PY), "-m", "daphne", "-b", "127.0.0.1", "-p", port, *DAPHNE_WS_LIMITS,
                       "trading.config.asgi:application"])


def cmd_test(pytest_args: list[str]) -> None:
    ensure_venv("dev")
    ensure_debian_packages(system_packages("test"))
    os.chdir(ROOT)
    os.execv(str(PY), [str(PY), "-m", "pytest", *pytest_args])


def cmd_lint() -> None:
    ensure_venv("dev")
    ruff = subprocess.run([str(VENV / "bin" / "ruff"), "check", "."], cwd=ROOT).returncode
    contracts = subprocess.run([str(VENV / "bin" / "lint-imports")], cwd=ROOT).returncode
    if ruff or contracts:
        sys.exit("lint failed: " + " and ".join(t for t, rc in (("ruff", ruff), ("lint-imports", contracts)) if rc))


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "lint"}:
        sys.exit(__doc__)
    if sys.argv[1] == "run":
        cmd_run()
    elif sys.argv[1] == "lint":
        cmd_lint()
    else:
        cmd_test(sys.argv[2:])


if __name__ == "__main__":
    main()
