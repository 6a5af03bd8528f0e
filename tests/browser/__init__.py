"""Browser tests (Playwright, Debian's Chromium): a package of its own, so that the browser and
the platform of its `package`-scoped fixtures stop once these tests are done."""
