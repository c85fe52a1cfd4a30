#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11: the README's two commands.

    python3 deploy/dev.py run    # the whole platform on http://127.0.0.1:8000 with demo data
    python3 deploy/dev.py test   # the test suite

It creates .venv, installs the project with pip, installs the Debian packages the tests need
(Chromium, CJK fonts, poppler, openssl) with apt-get when it runs as root, then runs.
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
DEBIAN_TEST_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "fonts-wqy-microhei": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "poppler-utils": "/usr/bin/pdftoppm",
    "openssl": "/usr/bin/openssl",
    "gettext": "/usr/bin/msgfmt",
    "curl": "/usr/bin/curl",
}


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


def ensure_venv(extras: str) -> None:
    if not PY.exists():
        say("creating .venv")
        run(python311(), "-m", "venv", VENV)
    stamp = VENV / f".installed-{extras or 'run'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say("installing Python packages (pip)")
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(wanted)


def ensure_debian_packages(packages: dict[str, str]) -> None:
    missing = [name for name, path in packages.items() if not Path(path).exists()]
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
    ensure_venv("")
    ensure_debian_packages({"fonts-wqy-microhei": DEBIAN_TEST_PACKAGES["fonts-wqy-microhei"]})
    manage("migrate", "--noinput", "-v", "0")
    manage("tsa_init")
    manage("seed_demo")
    port = os.environ.get("PORT", "8000")
    say(f"the platform is up on http://127.0.0.1:{port} (Ctrl-C stops it)")
    os.execv(str(PY), [str(PY), "-m", "daphne", "-b", "127.0.0.1", "-p", port,
                       "trading.config.asgi:application"])


def cmd_test(pytest_args: list[str]) -> None:
    ensure_venv("dev")
    ensure_debian_packages(DEBIAN_TEST_PACKAGES)
    os.chdir(ROOT)
    os.execv(str(PY), [str(PY), "-m", "pytest", *pytest_args])


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        sys.exit(__doc__)
    if sys.argv[1] == "run":
        cmd_run()
    else:
        cmd_test(sys.argv[2:])


if __name__ == "__main__":
    main()
