"""The sandbox's make-believe energy market: countries, providers and library tariffs.

Every country gets one provider of each integration type (DIRECT, LIBRARY, MARKET-only,
MANUAL-only) so that every path through Connect can be walked, and GB gets enough extra providers
that a search box is worth having. A few addresses are wired to the error and edge cases that the
real service produces for real addresses; the README lists them.

Ids are fixed (prefix + 24 hex digits, like the real ones) so tests and demos can name them.

Most providers have a logo, served by the sandbox itself (``/_sandbox/logos/<id>.svg``, on the
sandbox's public URL); a few have none (``logo_url: ""``), as with the real service, so both the
logo and the name-only row get shown. The web app shows logos from its configured FlatPeak
origin even over plain http (``webapp/pages/common.py`` ``safe_logo_url``), which is what makes
these visible in local development.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import Any

from babel import Locale
from babel.core import get_global
from babel.numbers import get_territory_currencies

DIRECT = "DIRECT"
LIBRARY = "LIBRARY"
MARKET = "MARKET"
MANUAL = "MANUAL"

FIXED = "FIXED"
TIME_OF_DAY = "TIME_OF_DAY"

# Post codes (spaces and case ignored) that reproduce edge cases of the real service.
TIMEZONE_NOT_FOUND_POST_CODE = "XX00XX"  # postal_address_capture -> timezone_not_found
NO_MARKET_REGION_POST_CODE = "ZZ99ZZ"  # market_surcharge_capture -> geo_location_not_found
# GB post code areas on the England/Scotland border, where the market region is ambiguous and
# market_surcharge_capture asks the customer to pick one (Berwick-upon-Tweed, Galashiels).
AMBIGUOUS_REGION_AREAS = ("TD",)
BORDER_REGIONS = ("North East England", "South Scotland")
# Post code areas of the Scottish islands, the only place Islestone Power supplies.
ISLAND_AREAS = ("HS", "KW", "ZE")


@dataclass(frozen=True)
class LibraryTariff:
    """A tariff in FlatPeak's library: a product, not yet a customer's contract."""

    id: str
    name: str
    description: str
    structure: str  # FIXED | TIME_OF_DAY | MARKET
    cost: float = 0.0  # FIXED: major units per kWh
    hours: tuple[tuple[str, str, float], ...] = ()  # TIME_OF_DAY: (valid_from, valid_to, cost)
    surcharge: tuple[float, float] = (0.0, 0.0)  # MARKET: (fixed per kWh, percentage)
    tiered: bool = False

    def answers(self) -> dict[str, Any]:
        """The tariff as the manual pages would have captured it."""
        return {
            "structure": self.structure,
            "name": self.name,
            "cost": self.cost,
            "hours": [{"valid_from": f, "valid_to": t, "cost": c} for f, t, c in self.hours],
            "surcharge": {"fixed": self.surcharge[0], "percentage": self.surcharge[1]},
            "tiered": self.tiered,
        }


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    country: str
    kind: str  # DIRECT | LIBRARY | MARKET | MANUAL
    has_logo: bool = True
    color: str = "#2b6cb0"
    tariffs: tuple[LibraryTariff, ...] = ()
    # The tariff a DIRECT login "finds" on the customer's account when they approve.
    account_tariff: LibraryTariff | None = None
    post_code_areas: tuple[str, ...] = ()  # empty: supplies the whole country

    def supplies(self, post_code: str) -> bool:
        if not self.post_code_areas:
            return True
        code = normalise_post_code(post_code)
        return any(code.startswith(area) for area in self.post_code_areas)

    def structure_options(self, offer_market: bool = True) -> list[str]:
        """What tariff_structure_select offers when this provider's tariff is typed in by hand."""
        if self.kind == MARKET:
            return [MARKET]
        if self.kind == MANUAL:
            return [FIXED, TIME_OF_DAY]
        return [FIXED, TIME_OF_DAY, MARKET] if offer_market else [FIXED, TIME_OF_DAY]


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    timezone: str
    # Base of the synthetic wholesale curve, major units per kWh.
    market_base: float
    state_timezones: dict[str, str] = field(default_factory=dict)


def _trt(n: int) -> str:
    return f"trt_{n:024x}"


def _prv(n: int) -> str:
    return f"prv_{n:024x}"


COUNTRIES: dict[str, Country] = {
    "GB": Country("GB", "GBP", "Europe/London", 0.16),
    "DE": Country("DE", "EUR", "Europe/Berlin", 0.21),
    "US": Country(
        "US",
        "USD",
        "America/New_York",
        0.09,
        state_timezones={
            "TX": "America/Chicago",
            "IL": "America/Chicago",
            "CA": "America/Los_Angeles",
            "WA": "America/Los_Angeles",
            "CO": "America/Denver",
            "AZ": "America/Phoenix",
            "NY": "America/New_York",
            "MA": "America/New_York",
        },
    ),
}

E7 = (("00:00:00", "07:00:00", 0.1352), ("07:00:00", "00:00:00", 0.3118))

PROVIDERS: tuple[Provider, ...] = (
    # --- GB: one of each integration type first, then the crowd that makes search matter.
    Provider(
        _prv(0xA1),
        "Voltaic Direct",
        "GB",
        DIRECT,
        color="#6b46c1",
        tariffs=(
            LibraryTariff(
                _trt(0x101), "Voltaic Fixed 24M", "Fixed price until 2027", FIXED, 0.2389
            ),
            LibraryTariff(
                _trt(0x102),
                "Voltaic Night Saver",
                "Cheaper electricity 00:30 to 07:30",
                TIME_OF_DAY,
                hours=(("00:30:00", "07:30:00", 0.1299), ("07:30:00", "00:30:00", 0.3205)),
            ),
        ),
        account_tariff=LibraryTariff(
            _trt(0x103),
            "Voltaic Smart Home",
            "Read from your Voltaic account",
            TIME_OF_DAY,
            hours=(("23:00:00", "06:00:00", 0.0850), ("06:00:00", "23:00:00", 0.2870)),
        ),
    ),
    Provider(
        _prv(0xA2),
        "Northwind Energy",
        "GB",
        LIBRARY,
        color="#2c7a7b",
        tariffs=(
            LibraryTariff(
                _trt(0x201), "Northwind Fixed 12M", "12 month fixed price", FIXED, 0.2450
            ),
            LibraryTariff(
                _trt(0x202),
                "Northwind Economy 7",
                "Seven cheaper hours overnight",
                TIME_OF_DAY,
                hours=E7,
            ),
            LibraryTariff(
                _trt(0x203),
                "Northwind Agile Tracker",
                "Follows the half-hourly wholesale price",
                MARKET,
                surcharge=(0.0215, 5.0),
            ),
        ),
    ),
    Provider(_prv(0xA3), "Tidal Market Power", "GB", MARKET, has_logo=False),
    Provider(_prv(0xA4), "Hearth & Home Electric", "GB", MANUAL, has_logo=False),
    Provider(
        _prv(0xA5),
        "Brightside Power",
        "GB",
        LIBRARY,
        color="#d69e2e",
        tariffs=(
            LibraryTariff(
                _trt(0x501),
                "Brightside Tiered Saver",
                "Lower price after 2,000 kWh a year",
                FIXED,
                0.2213,
                tiered=True,
            ),
            LibraryTariff(_trt(0x502), "Brightside Simple", "", FIXED, 0.2599),
        ),
    ),
    Provider(_prv(0xA6), "Cobalt Energy", "GB", MANUAL, color="#2b6cb0"),
    Provider(
        _prv(0xA7),
        "Dovetail Electric",
        "GB",
        LIBRARY,
        color="#975a16",
        tariffs=(
            LibraryTariff(
                _trt(0x701),
                "Dovetail EV Overnight",
                "For electric vehicle owners",
                TIME_OF_DAY,
                hours=(("00:00:00", "05:00:00", 0.0750), ("05:00:00", "00:00:00", 0.2950)),
            ),
        ),
    ),
    Provider(_prv(0xA8), "Ember Utilities", "GB", MANUAL, color="#c53030"),
    Provider(_prv(0xA9), "Fernleaf Energy", "GB", MARKET, color="#38a169"),
    Provider(_prv(0xAA), "Gridwise Supply", "GB", MANUAL, color="#2a4365"),
    Provider(
        _prv(0xAB),
        "Harbour Light Energy",
        "GB",
        LIBRARY,
        color="#dd6b20",
        tariffs=(
            LibraryTariff(
                _trt(0xB01), "Harbour Standard Variable", "Price cap tariff", FIXED, 0.2486
            ),
        ),
    ),
    Provider(
        _prv(0xAC), "Islestone Power", "GB", MANUAL, color="#4a5568", post_code_areas=ISLAND_AREAS
    ),
    Provider(_prv(0xAD), "Juniper Energy", "GB", MANUAL, color="#805ad5"),
    Provider(_prv(0xAE), "Kestrel Electric", "GB", MANUAL, color="#285e61"),
    Provider(
        _prv(0xAF),
        "The Greater London Community Energy Co-operative Society Limited",
        "GB",
        MANUAL,
        has_logo=False,
    ),
    # --- US
    Provider(
        _prv(0xB1),
        "Lone Star Direct",
        "US",
        DIRECT,
        color="#9b2c2c",
        tariffs=(
            LibraryTariff(_trt(0x1101), "Lone Star Saver 12", "12 month fixed", FIXED, 0.1290),
        ),
        account_tariff=LibraryTariff(
            _trt(0x1102), "Lone Star Home 24", "From your account", FIXED, 0.1345
        ),
    ),
    Provider(
        _prv(0xB2),
        "Bluebonnet Electric",
        "US",
        LIBRARY,
        color="#2b6cb0",
        tariffs=(
            LibraryTariff(_trt(0x1201), "Bluebonnet Fixed 12", "", FIXED, 0.1420),
            LibraryTariff(
                _trt(0x1202),
                "Bluebonnet Free Nights",
                "Free electricity 9 pm to 6 am",
                TIME_OF_DAY,
                hours=(("21:00:00", "06:00:00", 0.0001), ("06:00:00", "21:00:00", 0.2100)),
            ),
        ),
    ),
    Provider(_prv(0xB3), "Prairie Market Power", "US", MARKET, has_logo=False),
    Provider(_prv(0xB4), "Ridgeline Electric Co-op", "US", MANUAL, color="#744210"),
    # --- DE
    Provider(
        _prv(0xC1),
        "Spree Direkt",
        "DE",
        DIRECT,
        color="#2f855a",
        tariffs=(
            LibraryTariff(_trt(0x2101), "Spree Fix 24", "Preisgarantie 24 Monate", FIXED, 0.3190),
        ),
        account_tariff=LibraryTariff(
            _trt(0x2102), "Spree Dynamisch", "Aus Ihrem Konto", MARKET, surcharge=(0.1150, 0.0)
        ),
    ),
    Provider(
        _prv(0xC2),
        "Nordlicht Energie",
        "DE",
        LIBRARY,
        color="#2c5282",
        tariffs=(
            LibraryTariff(_trt(0x2201), "Nordlicht Basis", "", FIXED, 0.3350),
            LibraryTariff(
                _trt(0x2202),
                "Nordlicht HT/NT",
                "Hochtarif und Niedertarif",
                TIME_OF_DAY,
                hours=(("22:00:00", "06:00:00", 0.2410), ("06:00:00", "22:00:00", 0.3620)),
            ),
        ),
    ),
    Provider(_prv(0xC3), "Börsenstrom Dynamik", "DE", MARKET, has_logo=False),
    Provider(_prv(0xC4), "Stadtwerke Musterstadt", "DE", MANUAL, color="#1a365d"),
)

PROVIDERS_BY_ID: dict[str, Provider] = {p.id: p for p in PROVIDERS}
TARIFFS_BY_ID: dict[str, tuple[Provider, LibraryTariff]] = {
    t.id: (p, t) for p in PROVIDERS for t in (*p.tariffs, *(filter(None, [p.account_tariff])))
}


def normalise_post_code(post_code: str) -> str:
    return "".join(post_code.split()).upper()


@lru_cache(maxsize=1)
def _known_territories() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories if code.isalpha() and len(code) == 2)


def is_country_code(code: str) -> bool:
    return code in _known_territories()


def country(code: str) -> Country:
    """The fixture country, or a generic one built from CLDR data for any other ISO code."""
    if code in COUNTRIES:
        return COUNTRIES[code]
    currencies = get_territory_currencies(code) or ["EUR"]
    zones = get_global("territory_zones").get(code) or ["UTC"]
    return Country(code, currencies[0], zones[0], 0.15)


def timezone_for(address: dict[str, str]) -> str | None:
    """The location's timezone, or None when (like the real service) it cannot be resolved."""
    if normalise_post_code(address.get("post_code", "")) == TIMEZONE_NOT_FOUND_POST_CODE:
        return None
    home = country(address["country_code"])
    return home.state_timezones.get(address.get("state", "").upper(), home.timezone)


def providers_for(address: dict[str, str]) -> list[Provider]:
    code = address.get("country_code", "")
    return [p for p in PROVIDERS if p.country == code and p.supplies(address.get("post_code", ""))]


def market_regions(address: dict[str, str]) -> list[str] | None:
    """The regions to choose from when the address sits on a market-region boundary, else None."""
    post_code = normalise_post_code(address.get("post_code", ""))
    if address.get("country_code") == "GB" and post_code.startswith(AMBIGUOUS_REGION_AREAS):
        return list(BORDER_REGIONS)
    return None


def has_market_region(address: dict[str, str]) -> bool:
    return normalise_post_code(address.get("post_code", "")) != NO_MARKET_REGION_POST_CODE


def custom_provider(name: str) -> dict[str, str]:
    """A provider the customer typed in: a stable made-up id, no logo."""
    digest = hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:24]
    return {"id": f"prv_{digest}", "display_name": name.strip(), "logo_url": ""}


def logo_svg(provider: Provider) -> str:
    """A small square logo with the provider's initials, so the sandbox needs no image files."""
    initials = "".join(word[0] for word in provider.name.split()[:2] if word[0].isalnum()).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" '
        f'role="img" aria-label="{escape(provider.name)}">'
        f'<rect width="64" height="64" rx="12" fill="{provider.color}"/>'
        '<text x="32" y="41" font-family="Arial, Helvetica, sans-serif" font-size="24" '
        f'font-weight="700" fill="#ffffff" text-anchor="middle">{initials}</text></svg>'
    )


TEST_ADDRESSES: dict[str, dict[str, str]] = {
    "GB": {
        "address_line1": "1 Test Street",
        "address_line2": "",
        "city": "London",
        "state": "",
        "post_code": "SW1A 1AA",
        "country_code": "GB",
    },
    "US": {
        "address_line1": "1 Test Street",
        "address_line2": "",
        "city": "Austin",
        "state": "TX",
        "post_code": "78701",
        "country_code": "US",
    },
    "DE": {
        "address_line1": "Teststraße 1",
        "address_line2": "",
        "city": "Berlin",
        "state": "",
        "post_code": "10115",
        "country_code": "DE",
    },
}

LOCATION_STATES = (
    "connected_fixed",
    "connected_time_of_day",
    "connected_market",
    "pending",
    "failed",
    "disconnected",
)


def location_fixture(country_code: str, state: str) -> dict[str, Any]:
    """A location as a finished Connect session would have left it, for the test hook."""
    address = dict(TEST_ADDRESSES[country_code])
    in_country = [p for p in PROVIDERS if p.country == country_code]
    direct = next(p for p in in_country if p.kind == DIRECT)
    record: dict[str, Any] = {
        "address": address,
        "timezone": timezone_for(address),
        "provider": None,
        "connection_type": None,
        "tariff": None,
    }
    if state in ("pending", "failed"):
        record.update(
            status="PENDING" if state == "pending" else "FAILED",
            provider={"id": direct.id},
            connection_type=DIRECT,
            tariff={},
        )
        return record
    if state == "disconnected":
        record["status"] = "DISCONNECTED"
        return record
    structure = {
        "connected_fixed": FIXED,
        "connected_time_of_day": TIME_OF_DAY,
        "connected_market": MARKET,
    }[state]
    candidates = [
        (p, t)
        for p in in_country
        if p.kind == LIBRARY
        for t in p.tariffs
        if t.structure == structure
    ]
    if direct.account_tariff and direct.account_tariff.structure == structure:
        candidates.append((direct, direct.account_tariff))
    if not candidates:
        raise ValueError(f"the {country_code} fixtures have no {structure} tariff")
    provider, tariff = candidates[0]
    record.update(
        status="CONNECTED",
        provider={"id": provider.id},
        connection_type=LIBRARY if provider.kind == LIBRARY else DIRECT,
        tariff={
            **tariff.answers(),
            "library_id": tariff.id,
            "region": country_code,
            "contract_start_date": "2025-01-01T00:00:00Z",
            "contract_end_date": "2026-12-31T00:00:00Z",
        },
    )
    return record
