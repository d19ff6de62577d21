#!/usr/bin/env python3
"""Set up the development environment on demand, then serve or test.

    python3 .ci/dev.py serve [itk serve options]    # set up, then start the server
    python3 .ci/dev.py test  [pytest options]       # set up, then run the whole test suite

Both create or reuse ``.venv`` in the repository root. The install is skipped while nothing it
depends on (the pyproject files, this script) has changed, so a second run takes seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".itk-installed"
DISTRIBUTIONS = ["core", "api", "plugins/gateway", "plugins/browser", "plugins/perspective"]
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def say(message: str) -> None:
    print(f"dev: {message}", file=sys.stderr, flush=True)


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [
        Path(__file__),
        ROOT / "pyproject.toml",
        *(ROOT / d / "pyproject.toml" for d in DISTRIBUTIONS),
    ]:
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 is there
        sys.exit("dev: Python 3.11 or newer is needed")
    if not PYTHON.exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing the toolbox and its test tools into .venv (once)")
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    # "compat" editables are plain path entries, which PEP 420 namespace packages need to merge.
    editable = ["--config-settings", "editable_mode=compat"]
    for dist in DISTRIBUTIONS:
        editable += ["-e", str(ROOT / dist)]
    subprocess.run([*pip, *editable, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def has_browser() -> bool:
    if os.environ.get("ITK_BROWSER_PATH"):
        return Path(os.environ["ITK_BROWSER_PATH"]).exists()
    if any(shutil.which(name) for name in SYSTEM_BROWSERS):
        return True
    cache = Path(
        os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright")
    )
    return any(cache.glob("chromium*"))


def ensure_browser() -> None:
    """The browser tests always run: install a Chromium when none is there."""
    if has_browser():
        return
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        return
    say("installing Playwright's Chromium (playwright install chromium)")
    subprocess.run([str(PYTHON), "-m", "playwright", "install", "chromium"], check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test", "setup"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_environment()
    os.chdir(ROOT)
    if command == "setup":
        return 0
    if command == "serve":
        os.execv(str(BIN / "itk"), [str(BIN / "itk"), "serve", *rest])
    ensure_browser()
    return subprocess.run([str(PYTHON), "-m", "pytest", *rest]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
