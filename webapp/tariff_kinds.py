"""The kinds of tariff a location can carry, named as FlatPeak's location status names them.

A connect token is made for one ``direction`` and ``type`` (docs/protocol.md §2), and the token
exchange does not say which, so the flow's entry records the kind it was started for; results
and the settings page are keyed by these names.
"""

from __future__ import annotations

COMMODITY_IMPORT = "commodity_import"
COMMODITY_EXPORT = "commodity_export"
NON_COMMODITY_IMPORT = "non_commodity_import"

# kind -> (direction, type) for ``POST /connect/tariff/token``. NON_COMMODITY with EXPORT is not
# supported by FlatPeak, so it is not a kind a partner can enable.
KINDS: dict[str, tuple[str, str]] = {
    COMMODITY_IMPORT: ("IMPORT", "COMMODITY"),
    COMMODITY_EXPORT: ("EXPORT", "COMMODITY"),
    NON_COMMODITY_IMPORT: ("IMPORT", "NON_COMMODITY"),
}


def kind_of(direction: str | None, tariff_type: str | None) -> str:
    """The kind for a token's ``direction`` and ``type`` (FlatPeak's defaults when absent)."""
    wanted = ((direction or "IMPORT").upper(), (tariff_type or "COMMODITY").upper())
    for kind, pair in KINDS.items():
        if pair == wanted:
            return kind
    return COMMODITY_IMPORT


def direction_and_type(kind: str) -> tuple[str, str]:
    return KINDS.get(kind, KINDS[COMMODITY_IMPORT])


def is_kind(value: object) -> bool:
    return isinstance(value, str) and value in KINDS
