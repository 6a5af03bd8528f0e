"""Debian's Chromium for the browser tests (tests/browser): where it is, how it is started, and
what to do when it is missing.

Never `playwright install`: it downloads a browser build from the internet, which fails on a
closed network and would test a browser nobody here runs. `make install` installs Debian's
package instead (`make browser`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path(os.environ.get("NETRAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    # Containers have no user namespaces for Chromium's sandbox; the pages tested are our own.
    "--no-sandbox",
    "--disable-gpu",
    # Chromium's own background connections (QUIC probes, component updates, sync, field trials)
    # are refused on a closed network and would only slow every start down.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
INSTALL_HINT = (
    "Chromium tidak ditemukan di {path}. Pasang dengan `make browser` "
    "(atau: sudo apt-get install -y --no-install-recommends chromium). "
    "Jangan jalankan `playwright install`."
)


class ChromiumMissing(RuntimeError):
    """The browser tests cannot run: Debian's Chromium is not installed."""


def chromium_path() -> Path:
    """The Chromium to drive, or ChromiumMissing saying how to install it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise ChromiumMissing(INSTALL_HINT.format(path=CHROMIUM))
    return CHROMIUM


def chromium_version() -> str:
    """`Chromium 1xx.0… built on Debian…`; its launcher script may warn on stderr: ignored."""
    done = subprocess.run(
        [str(chromium_path()), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


def main() -> int:
    """`python -m netral.browser`: exit 0 with the version when Chromium is there, else 1."""
    try:
        print(chromium_version())
    except ChromiumMissing as missing:
        print(missing, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
