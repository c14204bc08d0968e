"""Facts of the Connect protocol the tests of both sides check against (docs/protocol.md)."""

#: The 14 zero page routes, in flow order.
ZERO_ROUTES: tuple[str, ...] = (
    "postal_address_capture",
    "provider_select",
    "provider_name_capture",
    "tariff_select",
    "tariff_structure_select",
    "rate_fixed_capture",
    "rate_tod_capture",
    "market_surcharge_capture",
    "tariff_name_capture",
    "contract_term_capture",
    "summary_fixed_confirm",
    "summary_tou_confirm",
    "summary_tariff_inprogress",
    "summary_tariff_failed",
)
