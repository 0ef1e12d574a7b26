"""Shared fixtures and the rules for tests that need external services.

Service rules:

* ``@pytest.mark.postgres`` needs PostgreSQL (``DATABASE_URL`` pointing at
  postgres); on SQLite it is skipped with the reason.
* ``@pytest.mark.integration`` needs PostgreSQL and Redis (``REDIS_URL``) by
  default; ``@pytest.mark.integration("redis")`` narrows it to the services named
  (``"postgres"``, ``"redis"``).
* With ``CI=true`` nothing is skipped for a missing service: the test fails and
  says which service is missing, so a broken CI service cannot pass silently.

Browser fixtures live in ``tests/browser/conftest.py``.
"""

import os
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from tests import factories as f
from tickets import services
from tickets.models import Classification, Origin

# --- services ---------------------------------------------------------------------

_SERVICE_HINTS = {
    "postgres": "PostgreSQL (defina DATABASE_URL=postgres://…)",
    "redis": "Redis (defina REDIS_URL=redis://…)",
}


def _available_services() -> set[str]:
    available = set()
    if "postgresql" in django_settings.DATABASES["default"]["ENGINE"]:
        available.add("postgres")
    if getattr(django_settings, "REDIS_URL", ""):
        available.add("redis")
    return available


def _required_services(item: pytest.Item) -> set[str]:
    needed: set[str] = set()
    if item.get_closest_marker("postgres"):
        needed.add("postgres")
    for marker in item.iter_markers("integration"):
        needed |= set(marker.args) if marker.args else {"postgres", "redis"}
    unknown = needed - set(_SERVICE_HINTS)
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: unknown service(s) in marker: {sorted(unknown)}")
    return needed


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing_message(missing: set[str]) -> str:
    return "service missing: " + "; ".join(_SERVICE_HINTS[s] for s in sorted(missing))


def pytest_configure(config: pytest.Config) -> None:
    # Tests run periodic tasks themselves: no background beat thread started by
    # importing servicedesk.asgi (the embedded mode's in-process scheduler).
    from django.conf import settings

    settings.INPROCESS_SCHEDULER = False
    # No PostgreSQL connection pool in tests: live-server and ASGI threads would keep pooled
    # sessions open and the test database could not be dropped at the end.
    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    available = _available_services()
    in_ci = _in_ci()
    for item in items:
        missing = _required_services(item) - available
        if missing and not in_ci:
            item.add_marker(pytest.mark.skip(reason=f"{_missing_message(missing)}; skipped outside CI"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if not _in_ci():
        return
    missing = _required_services(item) - _available_services()
    if missing:
        pytest.fail(f"CI=true but {_missing_message(missing)}; this test must not be skipped in CI", pytrace=False)


# --- the SQLite test database ---------------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """On SQLite the test database is a file (in memory when /dev/shm is there), not ``:memory:``.

    Django's in-memory test database is one shared-cache database for every connection of
    the process; when two threads write at once (the browser tests' servers, the consumers'
    threads, the test itself) SQLite answers "database table is locked" at once instead of
    waiting. A file database takes the settings' WAL journal and busy timeout: writers wait
    their turn, as in the embedded mode.
    """
    import shutil
    import tempfile

    db = django_settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="servicedesk-tests-", dir=base)
    db.setdefault("TEST", {})["NAME"] = os.path.join(folder, "test.sqlite3")
    yield
    shutil.rmtree(folder, ignore_errors=True)  # after the database's own teardown


# --- environment ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _test_environment(settings, tmp_path):
    """pt-BR messages, uploads in a temporary folder, a fast password hasher."""
    settings.LANGUAGE_CODE = "pt-br"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("pt-br"):
        yield


# --- people -----------------------------------------------------------------------------


@pytest.fixture
def agent(db):
    return f.AgentFactory(username="ana", first_name="Ana", last_name="Souza")


@pytest.fixture
def teammate(db):
    return f.AgentFactory(username="bruno", first_name="Bruno", last_name="Lima")


@pytest.fixture
def supervisor(db):
    return f.SupervisorFactory(username="carla", first_name="Carla", last_name="Mendes")


@pytest.fixture
def outsider(db):
    """An agent of another team: must never see or touch ``team``'s tickets."""
    return f.AgentFactory(username="otavio", first_name="Otávio", last_name="Reis")


@pytest.fixture
def admin_user(db):
    return f.AdminFactory(username="admin", first_name="Alice", last_name="Admin")


@pytest.fixture
def team(agent, teammate, supervisor):
    return f.TeamFactory(name="Suporte N1", members=[agent, teammate], supervisors=[supervisor])


@pytest.fixture
def other_team(outsider):
    return f.TeamFactory(name="Financeiro", members=[outsider])


# --- catalogue ----------------------------------------------------------------------------


@pytest.fixture
def process(db):
    """"Suporte técnico": Triagem (4 h) → Execução (8 h) → Validação (2 h)."""
    return f.process_with_subprocesses(name="Suporte técnico")


@pytest.fixture
def subprocesses(process):
    return list(process.subprocesses.order_by("order"))


@pytest.fixture
def other_process(db):
    return f.process_with_subprocesses(("Análise financeira", "Estorno"), (24, 8), name="Financeiro")


@pytest.fixture
def opening_classification(db):
    return f.ClassificationFactory(name="Sem conexão", kind=Classification.Kind.OPENING)


@pytest.fixture
def closing_classification(db):
    return f.ClassificationFactory(name="Resolvido remotamente", kind=Classification.Kind.CLOSING)


@pytest.fixture
def classifications(opening_classification, closing_classification):
    return {"opening": opening_classification, "closing": closing_classification}


@pytest.fixture
def customer(db):
    return f.CustomerFactory(name="Maria Oliveira", document="52998224725", city="Campinas", state="SP")


@pytest.fixture
def company(db):
    return f.CompanyFactory(name="NetRápido Campinas", cnpj="11222333000181")


# --- tickets -------------------------------------------------------------------------------


@pytest.fixture
def open_ticket(agent, team, customer, company, process, opening_classification, django_capture_on_commit_callbacks):
    """An unassigned ticket of ``team``, opened by ``agent`` through ``services.ticket_open``.

    Its on-commit publish is captured and discarded, so a test sees only its own.
    """
    with django_capture_on_commit_callbacks():
        ticket = services.ticket_open(
            actor=agent,
            customer=customer,
            company=company,
            team=team,
            process=process,
            origin=Origin.PHONE,
            customer_report="Sem internet desde ontem à noite.",
            opening_classification=opening_classification,
        )
    return ticket


@pytest.fixture
def claimed_ticket(open_ticket, agent, django_capture_on_commit_callbacks):
    """``open_ticket`` claimed by ``agent``."""
    with django_capture_on_commit_callbacks():
        return services.ticket_claim(actor=agent, ticket=open_ticket)


@pytest.fixture
def published(monkeypatch):
    """Every message ``tickets.publish`` sends, as ``(groups, payload)`` tuples."""
    sent: list[tuple[list[str], dict]] = []
    def send(groups, payload):
        payload = dict(payload)
        assert payload.pop("event_id"), "every publication carries an event_id"
        sent.append((groups, payload))

    monkeypatch.setattr("tickets.publish._send", send)
    return sent

