"""Browser-test harness: headless Chromium driven by Playwright's sync API.

Chromium is Debian's (``/usr/bin/chromium``) or the one ``CHROMIUM_PATH``
names; Playwright never downloads a browser here. Without it the browser tests
are skipped with the reason, except under ``CI=true``, where they fail.

Pages are served by pytest-django's ``live_server`` (a WSGI thread): fine for
plain pages. Tests that touch the server must commit their data, so they use
``@pytest.mark.django_db(transaction=True)``; the flush after each one empties
every table, including the role groups of migration 0002, so a test creates
what it needs (``get_or_create`` for the groups).

Playwright's sync API keeps an asyncio loop running in the main thread from the
browser's start to the end of the session. Django and asgiref then treat the
thread as async: ORM calls need ``DJANGO_ALLOW_ASYNC_UNSAFE`` (set below),
``connections`` hands out a separate set of connection objects, and
``async_to_sync`` refuses to run. So the browser tests are moved to the end of
the run, where that state cannot leak into other tests.

Screenshots go to ``test-artifacts/screenshots/`` (kept by CI, ignored by git);
a failing test that used ``page`` leaves one named after the test.
"""

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in this thread; without this
# Django would refuse the ORM calls the tests make around it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
LOCALE = "pt-BR"
TIMEZONE = "America/Sao_Paulo"
DEFAULT_TIMEOUT_MS = 10_000
PASSWORD = "demo1234"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _uses_browser(item: pytest.Item) -> bool:
    return item.get_closest_marker("browser") is not None or "browser" in getattr(
        item, "fixturenames", ()
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # After pytest-django's own ordering: browser tests last, in their order.
    items.sort(key=_uses_browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Iterator[pytest.TestReport]:
    # Keep each phase's report on the item so ``page`` can tell a failed test.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        reason = (
            f"no Chromium at {path}: install Debian's chromium (apt-get install chromium) "
            "or set CHROMIUM_PATH"
        )
        if _in_ci():
            pytest.fail(
                f"CI=true but {reason}; browser tests must not be skipped in CI", pytrace=False
            )
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _save(page, "FAILED-" + request.node.name)
    context.close()


def _save(page: Page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / (re.sub(r"[^\w.-]+", "_", name).strip("_") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """``screenshot(page, "name")`` saves ``test-artifacts/screenshots/name.png``."""
    return _save


@pytest.fixture
def login(live_server) -> Callable[..., Page]:
    """``login(page, "agente")``: sign in through the real login form.

    Returns the page once the browser has left the login screen.
    """

    def _login(page: Page, username: str, password: str = PASSWORD) -> Page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        page.locator("form:has(input[name=password]) [type=submit]").first.click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    return _login


# --- an ASGI server (HTTP + websockets) ------------------------------------------------------
#
# pytest-django's ``live_server`` speaks plain WSGI, without websockets. Tests of
# live screens serve the product's own ASGI application with uvicorn in a thread
# of this process: same test database, same in-memory channel layer.


class AsgiServer:
    """uvicorn serving the product's ASGI application in a thread; stoppable and restartable."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.thread: threading.Thread | None = None

    def app(self):
        from channels.routing import ProtocolTypeRouter

        from servicedesk.asgi import application

        return ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(get_asgi_application()),
                "websocket": application.application_mapping["websocket"],
            }
        )

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.server.force_exit = True
            self.thread.join(15)
            self.server = None


@pytest.fixture
def asgi_server() -> Iterator[AsgiServer]:
    server = AsgiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def open_as(browser: Browser, asgi_server: "AsgiServer") -> Iterator[Callable[[str], Page]]:
    """``open_as("agente")``: a new browser context signed in as that user."""
    contexts = []

    def _open(username: str) -> Page:
        context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Liberar este atendimento…?" → OK
        page.goto(f"{asgi_server.url}/accounts/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form:has(input[name=password]) [type=submit]").first.click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    yield _open
    for context in contexts:
        context.close()
