"""Realistic, deterministic B2B contacts for the sandbox CRMs.

Segment rules and the data-quality audit are only tested honestly against data that looks like
a real portal: correlated fields (bigger companies earn more, customers have purchases and
recent deals), skewed distributions, and a little mess in seeded proportions (missing values,
case and whitespace variants of categorical text, ~1% duplicate people). Everything derives
from ``random.Random(seed)`` and a fixed reference date, so a seed always yields the same rows.

Values are strings in HubSpot's formats: numbers as text ("1200", "35000.5"), dates as
"YYYY-MM-DD", datetimes as ISO 8601 with milliseconds and "Z", booleans as "true"/"false".
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar

from connectors.sandbox.timestamps import DAY_MS, iso_from_ms

T = TypeVar("T")

DEFAULT_REFERENCE_DATE = date(2025, 6, 30)
""""Today" for generated histories, fixed so that output never depends on when it runs."""

INDUSTRIES: list[tuple[str, float, int, tuple[str, ...]]] = [
    # (HubSpot-style industry, share of companies, revenue per employee, company-name suffixes)
    ("Software", 0.18, 240_000, ("Software", "Labs", "Systems", "Analytics", "Cloud")),
    ("Healthcare", 0.11, 120_000, ("Health", "Medical", "Care", "Clinics")),
    ("Biotechnology", 0.06, 310_000, ("Bio", "Therapeutics", "Genomics", "Biosciences")),
    ("Financial Services", 0.12, 380_000, ("Capital", "Financial", "Partners", "Advisors")),
    ("Retail", 0.10, 95_000, ("Retail", "Goods", "Stores", "Market")),
    ("Manufacturing", 0.13, 210_000, ("Manufacturing", "Industries", "Works", "Components")),
    ("Education", 0.07, 60_000, ("Learning", "Academy", "Education")),
    ("Logistics", 0.07, 170_000, ("Logistics", "Freight", "Shipping")),
    ("Telecommunications", 0.05, 330_000, ("Telecom", "Networks", "Connect")),
    ("Real Estate", 0.04, 280_000, ("Properties", "Realty", "Estates")),
    ("Marketing and Advertising", 0.07, 130_000, ("Media", "Creative", "Agency")),
]

COUNTRIES: list[tuple[str, float, tuple[str, ...], str]] = [
    # (country, share, cities, usual domain ending)
    ("United States", 0.46, ("New York", "San Francisco", "Austin", "Chicago", "Boston",
                             "Seattle", "Atlanta", "Denver"), ".com"),
    ("United Kingdom", 0.11, ("London", "Manchester", "Edinburgh", "Bristol"), ".co.uk"),
    ("Germany", 0.09, ("Berlin", "Munich", "Hamburg", "Frankfurt"), ".de"),
    ("Canada", 0.06, ("Toronto", "Vancouver", "Montreal"), ".ca"),
    ("France", 0.06, ("Paris", "Lyon", "Toulouse"), ".fr"),
    ("Netherlands", 0.04, ("Amsterdam", "Rotterdam", "Utrecht"), ".nl"),
    ("Australia", 0.05, ("Sydney", "Melbourne", "Brisbane"), ".com.au"),
    ("Spain", 0.03, ("Madrid", "Barcelona", "Valencia"), ".es"),
    ("India", 0.04, ("Bangalore", "Mumbai", "Pune"), ".in"),
    ("Ireland", 0.02, ("Dublin", "Cork"), ".ie"),
    ("Sweden", 0.02, ("Stockholm", "Gothenburg"), ".se"),
    ("Brazil", 0.02, ("São Paulo", "Rio de Janeiro"), ".com.br"),
]

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Ashley Donald Emily Steven Kimberly Andrew Michelle "
    "Paul Carol Joshua Amanda Kenneth Melissa Kevin Deborah Brian Stephanie George Rebecca "
    "Timothy Laura Ronald Helen Jason Sharon Edward Cynthia Jeffrey Kathleen Ryan Amy Jacob "
    "Angela Gary Shirley Nicholas Anna Eric Brenda Jonathan Pamela Stephen Emma Larry Nicole "
    "Justin Samantha Scott Katherine Brandon Christine Benjamin Debra Samuel Rachel Gregory "
    "Carolyn Alexander Janet Patrick Maria Frank Olivia Raymond Heather Jack Diane Dennis Julie "
    "Priya Arjun Sofia Lucas Mateo Lena Hannah Felix Chloe Noah Aisha Omar Yuki Kenji Ingrid "
    "Lars Siobhan Aoife Giulia Marco Camille Hugo Ana Pedro Fatima Ravi Ananya Mei Wei Zoe Liam"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Muller Schmidt Schneider "
    "Fischer Weber Dubois Laurent Bernard Rossi Russo Jansen Dekker Andersson Nilsson Sharma "
    "Gupta Singh Tanaka Suzuki Chen Wang Zhang O'Brien Byrne Fernandes Silva Costa"
).split()

NAME_PREFIXES = (
    "Blue North South East West Silver Golden Bright Clear Red Green Iron Stone Swift True "
    "Summit River Harbor Cedar Maple Pine Oak Crystal Granite Coral Lunar Solar Nova Vector "
    "Apex Prime Next Quantum Arrow Falcon Eagle Orbit Pioneer Atlas Beacon Crest Delta "
    "Ember Frontier Horizon Keystone Lighthouse Meridian Northstar Pinnacle Redwood Sterling"
).split()

NAME_ROOTS = (
    "peak wind field bridge gate point line wave stone brook ridge path view light port works "
    "forge mark shore dale haven craft spring leaf rock vale wood star sky well"
).split()

FUNCTIONS = ("Sales", "Marketing", "Engineering", "Operations", "Finance", "IT", "Procurement",
             "Product", "Customer Success", "Human Resources")

TITLES_BY_LEVEL: list[tuple[float, tuple[str, ...]]] = [
    (0.08, ("CEO", "CFO", "COO", "CTO", "Founder", "VP of {f}", "Chief Revenue Officer")),
    (0.17, ("Director of {f}", "Head of {f}", "Senior Director, {f}")),
    (0.30, ("{f} Manager", "Senior {f} Manager", "{f} Team Lead")),
    (0.45, ("{f} Specialist", "{f} Analyst", "{f} Coordinator", "Senior {f} Associate",
            "{f} Representative")),
]

LIFECYCLE_STAGES: list[tuple[str, str]] = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
]
"""HubSpot's lifecycle stages (internal value, label): the stages generated people are in,
which each CRM's schema offers as its picklist."""

LIFECYCLE_WEIGHTS: list[tuple[str, float]] = [
    ("subscriber", 0.14), ("lead", 0.30), ("marketingqualifiedlead", 0.15),
    ("salesqualifiedlead", 0.10), ("opportunity", 0.08), ("customer", 0.16),
    ("evangelist", 0.03), ("other", 0.04),
]

MISSING_RATE: dict[str, float] = {
    # Share of rows without a value, per property (email and the system fields always exist
    # for most rows; firmographics are the usual gaps in a CRM).
    "email": 0.01, "firstname": 0.02, "lastname": 0.02, "company": 0.03, "jobtitle": 0.07,
    "industry": 0.06, "country": 0.04, "city": 0.08, "lifecyclestage": 0.02,
    "employees": 0.09, "annualrevenue": 0.12, "hs_email_open": 0.03,
}

VARIANT_RATE = 0.03
"""Share of categorical values (industry, country, city) written in another case or padded."""

DUPLICATE_RATE = 0.01
"""Share of rows that are the same person as another row."""

_STAGES = [stage for stage, _ in LIFECYCLE_WEIGHTS]
_STAGE_CUM_WEIGHTS = list(accumulate(weight for _, weight in LIFECYCLE_WEIGHTS))
_LEVELS = [titles for _, titles in TITLES_BY_LEVEL]
_LEVEL_CUM_WEIGHTS = list(accumulate(share for share, _ in TITLES_BY_LEVEL))

PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    industry: str
    country: str
    city: str
    employees: int
    annual_revenue: float
    employees_text: str
    annual_revenue_text: str


def generate_contacts(
    n: int, seed: int, reference_date: date = DEFAULT_REFERENCE_DATE
) -> list[dict[str, str | None]]:
    """``n`` contacts as property dicts (values text or None), the same for the same seed.

    Each row also carries ``createdate`` and ``lastmodifieddate`` so the portal has a history:
    every timestamp lies before ``reference_date``, and writes made later (by a sync, or a
    test playing a person) are therefore always newer than the seed.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)
    reference_ms = int(datetime(reference_date.year, reference_date.month, reference_date.day,
                                tzinfo=UTC).timestamp() * 1000)
    companies = _companies(rng, max(20, n // 8))
    duplicates = round(n * DUPLICATE_RATE)
    originals = n - duplicates
    # Bigger companies appear more often in a B2B database, but sub-linearly.
    weights = [c.employees ** 0.35 for c in companies]
    employers = rng.choices(companies, weights=weights, k=originals)
    used_emails: set[str] = set()
    rows = [_person(rng, company, reference_ms, used_emails) for company in employers]
    for _ in range(duplicates):
        rows.append(_duplicate(rng, rows[_between(rng, 0, originals)], used_emails))
    rng.shuffle(rows)
    for row in rows:
        _make_messy(rng, row)
    return rows


def _companies(rng: random.Random, count: int) -> list[_Company]:
    industry_names = [i[0] for i in INDUSTRIES]
    industry_weights = [i[1] for i in INDUSTRIES]
    industries = {i[0]: i for i in INDUSTRIES}
    country_weights = [c[1] for c in COUNTRIES]
    names: set[str] = set()
    companies: list[_Company] = []
    while len(companies) < count:
        industry = industries[rng.choices(industry_names, industry_weights)[0]]
        stem = _pick(rng, NAME_PREFIXES) + _pick(rng, NAME_ROOTS)
        name = f"{stem} {_pick(rng, industry[3])}"
        if name in names:
            name = f"{name} {_pick(rng, ('Group', 'Holdings', 'International', 'Co'))}"
        if name in names:  # the word pool is finite: a number keeps any count unique
            name = f"{name} {len(companies) + 1}"
        names.add(name)
        country = rng.choices(COUNTRIES, country_weights)[0]
        ending = ".io" if industry[0] == "Software" and rng.random() < 0.4 else country[3]
        domain = "".join(ch for ch in name.lower() if ch.isalnum()) + ending
        # Pareto-distributed headcount: most companies are small, a few are very large.
        employees = min(250_000, int(8 * (1 - rng.random()) ** (-1 / 1.05)))
        revenue = employees * industry[2] * rng.lognormvariate(0, 0.35)
        if rng.random() < 0.9:
            revenue = round(revenue, -3)
        revenue = round(revenue, 2)
        companies.append(_Company(name, domain, industry[0], country[0], _pick(rng, country[2]),
                                  employees, revenue, str(employees), _number(revenue)))
    return companies


def _person(
    rng: random.Random, company: _Company, reference_ms: int, used_emails: set[str]
) -> dict[str, str | None]:
    first, last = _pick(rng, FIRST_NAMES), _pick(rng, LAST_NAMES)
    stage = _lifecycle(rng, company)
    activity_ms = _last_activity(rng, stage, reference_ms)
    created_ms = reference_ms - _between(rng, DAY_MS, 5 * 365 * DAY_MS)
    if activity_ms is not None:
        created_ms = min(created_ms, activity_ms - _between(rng, 0, 30 * DAY_MS))
    latest = max(created_ms, activity_ms or created_ms)
    modified_ms = latest + _between(rng, 0, max(1, reference_ms - latest))
    purchases = _purchases(rng, stage)
    opted_out = rng.random() < 0.05
    opens = int(rng.expovariate(1 / (2 if opted_out else 9 if stage == "customer" else 5)))
    close_ms = None
    total_revenue = None
    if purchases:
        deal = max(500.0, company.annual_revenue * rng.uniform(0.0004, 0.003))
        total_revenue = _number(round(deal * purchases * rng.uniform(0.8, 1.2), 2))
        close_ms = max(created_ms, (activity_ms or modified_ms) - _between(rng, 0, 120 * DAY_MS))
    country = company.country if rng.random() < 0.92 else _pick(rng, COUNTRIES)[0]
    return {
        "email": _email(rng, first, last, company.domain, used_emails),
        "firstname": first,
        "lastname": last,
        "company": company.name,
        "jobtitle": _job_title(rng),
        "industry": company.industry,
        "country": country,
        "city": company.city if country == company.country else None,
        "lifecyclestage": stage,
        "employees": company.employees_text,
        "annualrevenue": company.annual_revenue_text,
        "notes_last_updated": iso_from_ms(activity_ms) if activity_ms is not None else None,
        "hs_email_open": str(opens),
        "num_purchases": str(purchases),
        "total_revenue": total_revenue,
        "recent_deal_close_date": _day(close_ms) if close_ms is not None else None,
        "hs_email_optout": "true" if opted_out else "false",
        "createdate": iso_from_ms(created_ms),
        "lastmodifieddate": iso_from_ms(modified_ms),
    }


def _lifecycle(rng: random.Random, company: _Company) -> str:
    # Larger accounts are more often already customers.
    if rng.random() < min(0.12, company.employees / 20_000):
        return "customer"
    return _weighted(rng, _STAGES, _STAGE_CUM_WEIGHTS)


def _last_activity(rng: random.Random, stage: str, reference_ms: int) -> int | None:
    """Engaged stages had activity recently; subscribers often never had any."""
    if stage == "subscriber" and rng.random() < 0.6:
        return None
    mean_days = {"opportunity": 12, "customer": 25, "salesqualifiedlead": 20,
                 "evangelist": 30}.get(stage, 90)
    days = min(720.0, rng.expovariate(1 / mean_days))
    return reference_ms - int(days * DAY_MS) - _between(rng, 0, DAY_MS)


def _purchases(rng: random.Random, stage: str) -> int:
    if stage == "customer":
        return 1 + int(rng.expovariate(1 / 2.5))
    if stage == "evangelist":
        return 2 + int(rng.expovariate(1 / 4))
    if stage == "opportunity" and rng.random() < 0.15:
        return 1  # an existing customer working on another deal
    return 0


def _job_title(rng: random.Random) -> str:
    titles = _weighted(rng, _LEVELS, _LEVEL_CUM_WEIGHTS)
    return _pick(rng, titles).format(f=_pick(rng, FUNCTIONS))


def _email(rng: random.Random, first: str, last: str, domain: str, used: set[str]) -> str:
    first_part, last_part = _local_part(first), _local_part(last)
    pattern = rng.random()
    if pattern < 0.55:
        local = f"{first_part}.{last_part}"
    elif pattern < 0.75:
        local = f"{first_part[0]}{last_part}"
    elif pattern < 0.85:
        local = f"{first_part}_{last_part}"
    else:
        local = f"{first_part}{last_part[0]}"
    email = f"{local}@{domain}"
    suffix = 2
    while email in used:
        email = f"{local}{suffix}@{domain}"
        suffix += 1
    used.add(email)
    return email


@lru_cache(maxsize=1024)
def _local_part(name: str) -> str:
    """A name as it appears in an address: lower case, letters only ("O'Brien" → "obrien")."""
    return "".join(ch for ch in name.lower() if ch.isalpha())


def _duplicate(
    rng: random.Random, original: dict[str, str | None], used_emails: set[str]
) -> dict[str, str | None]:
    """The same person again: the email in other letter case (an import that bypassed
    deduplication), or the same name and company under a personal address."""
    twin = dict(original)
    email = original["email"] or ""
    if rng.random() < 0.5 and email:
        local, _, domain = email.partition("@")
        twin["email"] = f"{local.title()}@{domain.capitalize()}"
    else:
        first = original["firstname"] or "x"
        last = original["lastname"] or "x"
        twin["email"] = _email(rng, first, last, _pick(rng, PERSONAL_DOMAINS), used_emails)
        twin["jobtitle"] = None if rng.random() < 0.5 else original["jobtitle"]
    twin["lifecyclestage"] = _pick(rng, ("subscriber", "lead", original["lifecyclestage"]))
    twin["num_purchases"] = "0"
    twin["total_revenue"] = None
    twin["recent_deal_close_date"] = None
    return twin


def _make_messy(rng: random.Random, row: dict[str, str | None]) -> None:
    for name, rate in MISSING_RATE.items():
        if rng.random() < rate:
            row[name] = None
    for name in ("industry", "country", "city"):
        value = row[name]
        if value and rng.random() < VARIANT_RATE:
            row[name] = _pick(rng, (value.lower(), value.upper(), f" {value}", f"{value} "))


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """``rng.choice`` at a third of the cost; generation speed matters at 100,000 rows."""
    return options[int(rng.random() * len(options))]


def _weighted(rng: random.Random, options: Sequence[T], cum_weights: list[float]) -> T:
    """``rng.choices(options, cum_weights=...)[0]`` without its per-call overhead."""
    return options[bisect.bisect(cum_weights, rng.random() * cum_weights[-1])]


def _between(rng: random.Random, low: int, high: int) -> int:
    """A random int in [low, high), like ``rng.randrange`` but several times faster."""
    return low + int(rng.random() * (high - low))


def _number(value: float) -> str:
    """HubSpot number text: no trailing zeros ("1200", "35000.5")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _day(ms: int) -> str:
    return iso_from_ms(ms)[:10]
