"""What an address looks like in each country: the post code's name, and the state or province
for the countries whose addresses need one (US, CA, AU).

Babel has no subdivision data, so the lists live here: ISO 3166-2 subdivision codes without the
country prefix (what Connect expects in ``state``, e.g. "TX"), with their English names, which
are proper nouns and stay untranslated. Everywhere else the address page asks for no state at
all: Connect places an address by its city, post code and country (docs/protocol.md §8.7), and
a UK customer should not be asked for a "State, province or county".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webapp.i18n import lazy_gettext as _l

STATES: dict[str, dict[str, str]] = {
    "US": {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
        "PR": "Puerto Rico",
    },
    "CA": {
        "AB": "Alberta",
        "BC": "British Columbia",
        "MB": "Manitoba",
        "NB": "New Brunswick",
        "NL": "Newfoundland and Labrador",
        "NS": "Nova Scotia",
        "NT": "Northwest Territories",
        "NU": "Nunavut",
        "ON": "Ontario",
        "PE": "Prince Edward Island",
        "QC": "Quebec",
        "SK": "Saskatchewan",
        "YT": "Yukon",
    },
    "AU": {
        "ACT": "Australian Capital Territory",
        "NSW": "New South Wales",
        "NT": "Northern Territory",
        "QLD": "Queensland",
        "SA": "South Australia",
        "TAS": "Tasmania",
        "VIC": "Victoria",
        "WA": "Western Australia",
    },
}


# What people in each country call their post code; any other country gets the general name.
POST_CODE_NAMES: dict[str, Any] = {
    "GB": _l("Postcode"),
    "AU": _l("Postcode"),
    "NZ": _l("Postcode"),
    "US": _l("ZIP code"),
    "IE": _l("Eircode"),
    "IN": _l("PIN code"),
}
POST_CODE_NAME = _l("Postal code")

# The state field of the countries in STATES: its label, the prompt its list opens with, and
# the message when nothing was chosen.
STATE_NAMES: dict[str, tuple[Any, Any, Any]] = {
    "US": (_l("State"), _l("Choose your state"), _l("Choose your state.")),
    "CA": (
        _l("Province or territory"),
        _l("Choose your province or territory"),
        _l("Choose your province or territory."),
    ),
    "AU": (
        _l("State or territory"),
        _l("Choose your state or territory"),
        _l("Choose your state or territory."),
    ),
}


@dataclass(frozen=True)
class AddressFormat:
    """The parts of the address form that depend on the country."""

    post_code_label: str
    #: The country's states, code -> name; None where the address needs none.
    states: Mapping[str, str] | None = None
    state_label: str = ""
    state_prompt: str = ""
    state_missing: str = ""


def address_format(country: str) -> AddressFormat:
    """The address form for ``country`` (an ISO code, or "" before one is chosen), translated."""
    post_code = str(POST_CODE_NAMES.get(country, POST_CODE_NAME))
    states = STATES.get(country)
    if states is None:
        return AddressFormat(post_code_label=post_code)
    label, prompt, missing = STATE_NAMES[country]
    return AddressFormat(post_code, states, str(label), str(prompt), str(missing))
