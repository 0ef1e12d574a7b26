"""The configuration the demo tickets refer to, created through the ORM.

Idempotent by natural key (``get_or_create``), so it completes whatever an
admin already configured instead of failing on it. Customers are the one
large table here and go through the fast loader.
"""

import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from tickets import roles
from tickets.demo import data
from tickets.demo.loader import TableWriter, next_id
from tickets.documents import cnpj_check_digits, cpf_check_digits
from tickets.models import (
    Category,
    CategoryMatrix,
    Classification,
    Company,
    Customer,
    Process,
    RequestType,
    ServiceCatalogItem,
    Subprocess,
    Team,
)

User = get_user_model()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ProcessRef:
    id: int
    name: str
    # (subprocess id, name, expected seconds, JSON data of its events)
    subprocesses: list[tuple[int, str, int, str]]
    service_order: tuple[int, int] | None


@dataclass
class KindRef:
    matrix_id: int
    process: ProcessRef
    team_id: int
    weight: float
    stops_cum: list[float]
    reports: list[str]
    origin: str | None
    path: str


@dataclass
class Reference:
    user_ids: dict[str, int] = field(default_factory=dict)
    usernames: dict[int, str] = field(default_factory=dict)
    team_ids: dict[str, int] = field(default_factory=dict)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    team_supervisor: dict[int, int] = field(default_factory=dict)
    company_ids: list[int] = field(default_factory=list)
    processes: dict[str, ProcessRef] = field(default_factory=dict)
    kinds: list[KindRef] = field(default_factory=list)
    opening: list[tuple[int, float]] = field(default_factory=list)  # (id, weight)
    corporate_classification: int = 0
    existing_users: list[str] = field(default_factory=list)
    closing: dict[tuple[str, int], list[tuple[int, str]]] = field(default_factory=dict)
    # customers: (id, company index, is_company, address tuple in Ticket.ADDRESS_FIELDS order)
    customers: list[tuple[int, int, bool, tuple[str, ...]]] = field(default_factory=list)


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == ".")


# --- operators and teams ----------------------------------------------------------


def create_operators(ref: Reference) -> None:
    # One hash for all demo users: hashing is deliberately slow, and the demo
    # password is public anyway.
    password = make_password(data.DEMO_PASSWORD)
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.ROLE_NAMES}

    def user(username: str, first: str, last: str, *, staff: bool = False, superuser: bool = False):
        # An operator someone already created keeps their password and flags.
        obj, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@{data.STAFF_EMAIL_DOMAIN}",
                "is_staff": staff,
                "is_superuser": superuser,
                "is_active": True,
                "password": password,
            },
        )
        if not created:
            ref.existing_users.append(username)
        ref.user_ids[username] = obj.pk
        ref.usernames[obj.pk] = username
        return obj

    admin = user(*data.ADMIN, staff=True, superuser=True)
    admin.groups.add(groups[roles.ADMIN])
    for username, first, last in data.SUPERVISORS:
        user(username, first, last).groups.add(groups[roles.SUPERVISOR])
    for username, first, last in data.AGENTS:
        user(username, first, last).groups.add(groups[roles.AGENT])

    for name, members, supervisor in data.TEAMS:
        team, _ = Team.objects.get_or_create(name=name)
        member_ids = [ref.user_ids[m] for m in members]
        team.members.add(*member_ids)
        team.supervisors.add(ref.user_ids[supervisor])
        ref.team_ids[name] = team.pk
        ref.team_members[team.pk] = member_ids
        ref.team_supervisor[team.pk] = ref.user_ids[supervisor]


# --- companies and catalogue --------------------------------------------------------


def create_companies(ref: Reference) -> None:
    for name, base, city, state in data.COMPANIES:
        cnpj = base + cnpj_check_digits(base)
        company, _ = Company.objects.get_or_create(
            cnpj=cnpj, defaults={"name": name, "city": city, "state": state}
        )
        ref.company_ids.append(company.pk)


def _category(path: str, cache: dict[str, Category]) -> Category:
    if path in cache:
        return cache[path]
    parent_path, _, name = path.rpartition(" / ")
    parent = _category(parent_path, cache) if parent_path else None
    node = Category.objects.filter(parent=parent, name=name).first()
    if node is None:
        node = Category(parent=parent, name=name)
        node.save()
    cache[path] = node
    return node


def create_catalogue(ref: Reference) -> None:
    request_types = {n: RequestType.objects.get_or_create(name=n)[0] for n in data.REQUEST_TYPES}
    catalog = {
        n: ServiceCatalogItem.objects.get_or_create(name=n, defaults={"description": d})[0]
        for n, d in data.CATALOG_ITEMS
    }
    for order, (name, description, subprocesses, so_rule) in enumerate(data.PROCESSES, start=1):
        process, _ = Process.objects.get_or_create(
            name=name, defaults={"description": description, "order": order}
        )
        subs = []
        for sub_order, (sub_name, hours) in enumerate(subprocesses, start=1):
            sub, _ = Subprocess.objects.get_or_create(
                process=process,
                order=sub_order,
                defaults={"name": sub_name, "expected_hours": hours},
            )
            subs.append(
                (
                    sub.pk,
                    sub.name,
                    int(float(sub.expected_hours) * 3600),
                    _json({"subprocess": sub.name}),
                )
            )
        ref.processes[name] = ProcessRef(process.pk, name, subs, so_rule)

    for name, _weight in data.OPENING_CLASSIFICATIONS:
        classification, _ = Classification.objects.get_or_create(
            name=name, kind=Classification.Kind.OPENING
        )
        if name == data.CORPORATE_CLASSIFICATION:
            ref.corporate_classification = classification.pk
        else:
            ref.opening.append((classification.pk, _weight))
    closing_ids: dict[str, int] = {}
    for process_name, by_stop in data.CLOSING_BY_PROCESS.items():
        for stop, names in by_stop.items():
            entries = []
            for name in names:
                if name not in closing_ids:
                    closing_ids[name] = Classification.objects.get_or_create(
                        name=name, kind=Classification.Kind.CLOSING
                    )[0].pk
                entries.append((closing_ids[name], _json({"classification": name})))
            ref.closing[(process_name, stop)] = entries

    categories: dict[str, Category] = {}
    for kind in data.KINDS:
        category = _category(kind.path, categories)
        request_type = request_types[kind.type]
        leaf = kind.path.rpartition(" / ")[2]
        matrix, _ = CategoryMatrix.objects.get_or_create(
            category=category,
            request_type=request_type,
            defaults={
                "name": f"{leaf} ({request_type.name})",
                "catalog_item": catalog[kind.catalog],
            },
        )
        process = ref.processes[kind.process]
        total = sum(kind.stops)
        cum, acc = [], 0.0
        for w in kind.stops:
            acc += w / total
            cum.append(acc)
        ref.kinds.append(
            KindRef(
                matrix_id=matrix.pk,
                process=process,
                team_id=ref.team_ids[kind.team],
                weight=kind.weight,
                stops_cum=cum,
                reports=kind.reports,
                origin=kind.origin,
                path=kind.path,
            )
        )


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- customers ----------------------------------------------------------------------


def _cpf(rng: random.Random, used: set[str]) -> str:
    while True:
        base = f"{rng.randrange(1_000_000, 1_000_000_000):09d}"
        doc = base + cpf_check_digits(base)
        if doc not in used and doc != doc[0] * 11:
            used.add(doc)
            return doc


_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _cnpj(rng: random.Random, used: set[str], *, alphanumeric: bool) -> str:
    while True:
        if alphanumeric:
            root = "".join(rng.choice(_ALNUM) for _ in range(8))
        else:
            root = f"{rng.randrange(10_000_000, 100_000_000):08d}"
        base = root + "0001"
        doc = base + cnpj_check_digits(base)
        if doc not in used:
            used.add(doc)
            return doc


def create_customers(ref: Reference, rng: random.Random, count: int, now: datetime) -> int:
    """Insert ``count`` customers spread over the cities; returns how many."""
    used = set(Customer.objects.values_list("document", flat=True))
    writer = TableWriter(
        Customer,
        [
            "id",
            "name",
            "document",
            "email",
            "phone",
            "mobile",
            "created_at",
            *Customer.ADDRESS_FIELDS,
        ],
    )
    city_weights = [c[3] for c in data.CITIES]
    first_id = next_id(Customer)
    now_ts = int(now.timestamp())
    rows = []
    for i in range(count):
        city, uf, ddd, _w, hoods = rng.choices(data.CITIES, weights=city_weights)[0]
        hood, ceps, streets = rng.choice(hoods)
        street = rng.choice(streets)
        number = str(rng.randrange(10, 3000))
        if rng.random() < 0.3:
            condominium = rng.choice(data.CONDOMINIUMS)
            complement = (
                f"Apto {rng.randrange(1, 25)}{rng.randrange(1, 5)} - Bloco {rng.choice('ABCD')}"
            )
        else:
            condominium = ""
            complement = rng.choice(["", "", "", "Casa 2", "Fundos", "Sala 3"])
        cep = f"{rng.choice(ceps)}-{rng.randrange(0, 1000):03d}"
        is_company = rng.random() < 0.12
        if is_company:
            prefix = rng.choice(data.BUSINESS_PREFIXES)
            name = (
                f"{prefix} {rng.choice(data.BUSINESS_NAMES)} {rng.choice(data.BUSINESS_SUFFIXES)}"
            )
            document = _cnpj(rng, used, alphanumeric=rng.random() < 0.1)
            email = (
                f"contato.{ascii_slug(name.split(' ', 1)[0])}{i}@{rng.choice(data.EMAIL_DOMAINS)}"
            )
            condominium = ""
            complement = rng.choice(["", "Loja 1", "Sala 12", "Galpão 2"])
        else:
            first = rng.choice(data.FIRST_NAMES)
            last = f"{rng.choice(data.LAST_NAMES)} {rng.choice(data.LAST_NAMES)}"
            if rng.random() < 0.5:
                last = rng.choice(data.LAST_NAMES)
            name = f"{first} {last}"
            document = _cpf(rng, used)
            email = (
                f"{ascii_slug(first)}.{ascii_slug(last.split()[-1])}{rng.randrange(1, 999)}"
                f"@{rng.choice(data.EMAIL_DOMAINS)}"
            )
        mobile = f"({ddd}) 9{rng.randrange(6000, 10000)}-{rng.randrange(0, 10000):04d}"
        phone = f"({ddd}) {rng.randrange(2, 6)}{rng.randrange(0, 1000):03d}-{rng.randrange(0, 10000):04d}"
        if rng.random() < 0.6:
            phone = ""
        created_at = EPOCH + timedelta(seconds=now_ts - rng.randrange(61 * 86400, 6 * 365 * 86400))
        address = (street, number, complement, hood, city, uf, cep, condominium)
        customer_id = first_id + i
        rows.append((customer_id, name, document, email, phone, mobile, created_at, *address))
        ref.customers.append((customer_id, data.COMPANY_BY_CITY[city], is_company, address))
    writer.write(rows)
    return count
