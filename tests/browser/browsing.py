"""What every browser test checks on every page it shows, in one place (`Tab`):

- no console errors and no uncaught script errors;
- no request to any host but 127.0.0.1 (such requests are aborted, and the test fails);
- axe-core finds no `serious` or `critical` accessibility violation;
- a screenshot at phone (360×740) and at desktop (1280×800) size, kept as a test artifact.

And how much a page transfers, measured by the browser itself (`weigh`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, Route, ViewportSize

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LOCAL_HOSTS = frozenset({"127.0.0.1"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
BLOCKING_IMPACTS = ("serious", "critical")

AXE_RUN = """async (impacts) => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations
        .filter((violation) => impacts.includes(violation.impact))
        .map((violation) => ({
            id: violation.id,
            impact: violation.impact,
            help: violation.help,
            nodes: violation.nodes.slice(0, 5).map(
                (node) => node.target.join(" ") + ": " + (node.failureSummary || "").replace(/\\s+/g, " ")
            ),
        }));
}"""

# Every resource the document loaded, as the browser counted it: `transferSize` is what came
# over the wire (headers and the encoded body), `decodedBodySize` the body once decompressed.
PERFORMANCE_ENTRIES = """() => performance.getEntriesByType("navigation")
    .concat(performance.getEntriesByType("resource"))
    .map((entry) => ({
        name: entry.name,
        transfer: entry.transferSize,
        encoded: entry.encodedBodySize,
        decoded: entry.decodedBodySize,
    }))"""


# A page made for phones never scrolls sideways: the elements that end beyond the screen's edge.
WIDEST_ELEMENTS = """(width) => document.documentElement.scrollWidth <= width ? [] :
    [...document.querySelectorAll("body *")]
        .filter((element) => element.getBoundingClientRect().right > width + 1)
        .filter((element) => ![...element.children].some(
            (child) => child.getBoundingClientRect().right > width + 1))
        .slice(0, 5)
        .map((element) => element.tagName.toLowerCase() + (element.className ? "." + element.className : "")
            + " " + JSON.stringify((element.textContent || "").trim().slice(0, 40))
            + " right=" + Math.round(element.getBoundingClientRect().right))"""


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


def page_key(url: str) -> str:
    """A page, whatever its query: `/kemajuan/x?unit=32.01` and `?unit=32.01.001` are one page."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-") or "halaman"


@dataclass
class Watch:
    """What a browser context did that it should not have: shared by all of its pages."""

    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        # Only outside URLs are routed: local requests (SSE streams among them) go untouched.
        context.route(lambda url: not is_local(url), self._refuse)
        # In every document from its start: sent to the browser once, not with every check.
        context.add_init_script(path=AXE)
        context.on("page", self.watch_page)

    def watch_page(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: uncaught {error}"))

    def _refuse(self, route: Route) -> None:
        self.outside_requests.append(route.request.url)
        route.abort("blockedbyclient")

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{page.url}: {message.text}")


@dataclass
class Weight:
    """A page's transfer as the browser measured it (Performance API), in bytes."""

    url: str
    transferred: int
    decoded: int
    resources: list[tuple[str, int]]

    def describe(self) -> str:
        parts = ", ".join(f"{urlsplit(name).path} {size:,} B" for name, size in self.resources)
        return (
            f"{urlsplit(self.url).path}: {self.transferred / 1024:.1f} KB transferred "
            f"({self.decoded / 1024:.1f} KB decoded) [{parts}]"
        )


def weigh(page: Page) -> Weight:
    """Everything the current document transferred: the document and every resource it loaded.
    Call on a fresh context (nothing cached) once the page has loaded."""
    page.wait_for_load_state("networkidle")
    entries: list[dict[str, Any]] = page.evaluate(PERFORMANCE_ENTRIES)
    # A resource served from the memory cache reports 0 transferred: count its encoded body.
    sizes = [(str(e["name"]), int(e["transfer"]) or int(e["encoded"])) for e in entries]
    return Weight(
        url=page.url,
        transferred=sum(size for _, size in sizes),
        decoded=sum(int(e["decoded"]) for e in entries),
        resources=sizes,
    )


class Tab:
    """One browser page of a test, checked at every step (`check`)."""

    def __init__(self, page: Page, watch: Watch, artifacts: Path, label: str) -> None:
        self.page = page
        self.watch = watch
        self.artifacts = artifacts
        self.label = label
        self.shots: list[Path] = []
        self._allowed_console: list[str] = []
        self.too_wide: list[str] = []
        """Pages wider than a phone (sideways scrolling), with the elements that stick out."""
        self.shown: list[str] = []
        self.checked: set[str] = set()
        page.on("framenavigated", lambda frame: self._shown(frame.url) if frame == page.main_frame else None)

    def _shown(self, url: str) -> None:
        if urlsplit(url).scheme in ("http", "https"):
            self.shown.append(page_key(url))

    def unchecked(self) -> list[str]:
        """Pages this tab showed that no `check` looked at (so that none escapes axe-core)."""
        return sorted(set(self.shown) - self.checked)

    def open(self, url: str, name: str, status: int = 200) -> Response:
        """Go to `url` (redirects followed) and check the page it lands on."""
        response = self.page.goto(url)
        assert response is not None, url
        self.check(name, status)
        return response

    def check(self, name: str, status: int | None = 200, allow_console: Iterable[str] = ()) -> None:
        """The page now shown: its status, screenshots, accessibility and console."""
        page = self.page
        page.wait_for_load_state("load")
        if status is not None:
            # The document's own status, also after a form's POST and its 303 redirect.
            answered = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0]?.responseStatus ?? 0"
            )
            assert answered == status, f"{name}: {page.url} answered {answered}, expected {status}"
        self._allowed_console.extend(allow_console)
        self.checked.add(page_key(page.url))
        self.screenshots(name)
        self.accessible(name)
        self.clean(name)

    def screenshots(self, name: str) -> None:
        """Phone and desktop, whatever size the test drives the page at (restored after)."""
        page = self.page
        driven = page.viewport_size or PHONE
        self.artifacts.mkdir(parents=True, exist_ok=True)
        number = len(self.shots) // 2 + 1
        for size_name, size in (("ponsel", PHONE), ("desktop", DESKTOP)):
            if page.viewport_size != size:
                page.set_viewport_size(size)
            if size == PHONE:
                wide = page.evaluate(WIDEST_ELEMENTS, PHONE["width"])
                if wide:
                    self.too_wide.append(f"{name} ({page.url}): {wide}")
            path = self.artifacts / f"{self.label}-{number:02d}-{slug(name)}-{size_name}.png"
            page.screenshot(path=path, full_page=True, animations="disabled")
            self.shots.append(path)
        if page.viewport_size != driven:
            page.set_viewport_size(driven)

    def accessible(self, name: str) -> None:
        page = self.page
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # A document the init script missed. Evaluated, not added as a script element, which
            # the pages' CSP (no inline script) would refuse.
            page.evaluate(AXE.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = page.evaluate(AXE_RUN, list(BLOCKING_IMPACTS))
        assert not violations, f"{name} ({page.url}): axe-core found serious or critical violations:\n" + (
            "\n".join(
                f"- {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
                for v in violations
            )
        )

    def clean(self, name: str) -> None:
        """No request left the machine, and no console error but those the test expects."""
        assert not self.watch.outside_requests, (
            f"{name}: requests to outside hosts: {self.watch.outside_requests}"
        )
        unexpected = [
            error
            for error in self.watch.console_errors
            if not any(allowed in error for allowed in self._allowed_console)
        ]
        assert not unexpected, f"{name}: console errors: {unexpected}"


def choose_on_sign_in(tab: Tab, registry: str, person: str, then: str) -> None:
    """On the DEV-ONLY sign-in page (the registry's, where every service sends the browser),
    checked like any page, press the button of `person` (a label as the page lists it), and
    expect to land on `then` (a URL prefix) signed in."""
    page = tab.page
    assert page.url.startswith(f"{registry}/masuk"), f"expected the sign-in page, got {page.url}"
    tab.check("masuk")
    page.get_by_role("button", name=person, exact=True).first.click()
    page.wait_for_url(lambda url: url.startswith(then))
