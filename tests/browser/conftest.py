"""Browser tests: Playwright for Python (pytest-playwright) driving Debian's Chromium against
the four services as real processes on the shared engines, with one small pemda loaded
through the registry's API.

The browser, Playwright and the platform live for this package only (`__init__.py` makes it
one): the sync Playwright API leaves its event loop marked as running between calls, which
would break every asyncio test run after it in the same session, and the services are not
needed beyond these tests."""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Playwright, sync_playwright

from netral.browser import CHROMIUM_ARGS, ChromiumMissing, chromium_path
from netral.devstack import wait_ready
from netral.engines import free_port
from tests.browser.browser_platform import ARTIFACTS, READY_SECONDS, SERVICES, Platform, load_pemda
from tests.browser.browsing import PHONE, Tab, Watch, slug
from tests.processes import key_file_env, spawn_service, stop_service


@pytest.fixture(scope="package")
def platform(
    engine_env: dict[str, str], key_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The four services as processes. Their ports are chosen first, so that each knows where
    the others' pages are (the links between pages, the sign-in on the registry)."""
    logs = tmp_path_factory.mktemp("browser-services")
    run = f"b{uuid.uuid4().hex[:10]}"
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    databases = {service: f"netral_{run}_{service}" for service in SERVICES}
    common = {
        **engine_env,
        "DEV_MODE": "true",
        "KAFKA_TOPIC_PREFIX": f"{run}.",
        "KAFKA_PARTITIONS": "3",
        "LOG_LEVEL": "WARNING",
        **key_file_env(key_dir),
        # One session key for all four, so that one sign-in holds on every service's pages.
        "WEB_SESSION_KEY": secrets.token_urlsafe(32),
        "CHECKPOINT_SECONDS": "1",
        # notify: no quiet hours (the tests may run at night in WIB).
        "QUIET_START": "00:00",
        "QUIET_END": "00:00",
        **{f"WEB_{service.upper()}_URL": url for service, url in urls.items()},
    }
    processes = {
        service: spawn_service(
            f"services.{service}",
            {**common, "MONGODB_DATABASE": databases[service], "HTTP_PORT": str(ports[service])},
            logs / f"{service}.log",
        )
        for service in SERVICES
    }
    try:
        for service in SERVICES:
            wait_ready(urls[service], READY_SECONDS, logs / f"{service}.log")
        # Ready, and ours: a process that lost its port to another would have exited by now.
        exited = {
            service: process.returncode
            for service, process in processes.items()
            if process.poll() is not None
        }
        assert not exited, f"services exited at start (logs in {logs}): {exited}"
        running = Platform(urls, databases, engine_env["MONGODB_URI"], key_dir)
        load_pemda(running)
        yield running
    finally:
        for process in processes.values():
            stop_service(process)


# ---------------------------------------------------------------- pytest-playwright, per package
# The plugin's own fixtures, narrowed to this package (see the module docstring).


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    try:
        executable = chromium_path()
    except ChromiumMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    return {"executable_path": str(executable), "headless": True, "args": list(CHROMIUM_ARGS)}


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    browser_type: BrowserType = getattr(playwright, browser_name)
    return browser_type


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    # The pages' Content-Security-Policy is enforced, as in a visitor's browser: an inline style
    # or script it refuses is a console error, which fails the journey. axe-core comes in by
    # the init script and `page.evaluate`, which the CSP does not govern.
    return {"locale": "id-ID", "timezone_id": "Asia/Jakarta"}


# ---------------------------------------------------------------- the tests' own fixtures


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's screenshots, those of an earlier run removed first."""
    folder = ARTIFACTS / slug(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture
def open_tab(new_context: Callable[..., BrowserContext], artifacts: Path) -> Iterator[Callable[..., Tab]]:
    """`open_tab("warga")`: a page in a fresh browser context (its own cookies and cache),
    watched for console errors and outside requests; checked again when the test ends."""
    tabs: list[Tab] = []

    def open_one(label: str, **context_args: Any) -> Tab:
        context = new_context(**{"viewport": PHONE, **context_args})
        watch = Watch()
        watch.attach(context)
        tab = Tab(context.new_page(), watch, artifacts, label)
        tabs.append(tab)
        return tab

    yield open_one
    for tab in tabs:
        tab.clean(f"{tab.label} (end of test)")
        assert not tab.unchecked(), f"{tab.label}: pages shown but never checked: {tab.unchecked()}"
        for page in tab.too_wide:
            print(f"\nWIDER THAN A PHONE: {page}")
