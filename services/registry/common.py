"""Field types the registry's API schemas share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.schemas import StrictRequest

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_\-]*$"
    ),
]
TerritoryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


# What a field means wherever it appears, so every field of the OpenAPI document is described
# once; a `Field(description=...)` on a model says more where needed and wins.
FIELD_DOCS: dict[str, str] = {
    "actor_role": "Role of the token that made the change.",
    "actor_subject": "Subject (an id) of the token that made the change.",
    "at": "When it happened (UTC).",
    "audits_per_site": "Audits per site on this channel.",
    "calendar": "The edition's calendar: deadlines, fieldwork windows, results, ceremony.",
    "ceremony_on": "Day of the trophies ceremony.",
    "certifications": "Certifications held (Qualivilles, Marianne, Services Publics+, ISO 9001).",
    "channel": "Audit channel: email, phone, answering_machine, letter, website, social_network, visit.",
    "code": "Stable code.",
    "commune_code": "INSEE code of the commune.",
    "competes_for_trophies": "Whether the structure competes for the trophies.",
    "contacts": "Contact points of the site, one per channel and address.",
    "created": "How many structures were created.",
    "created_at": "When it was created (UTC).",
    "decided_at": "When the last review decision was taken (UTC).",
    "decision_reason": "Reason given with the last review decision.",
    "departement_code": "Code of the département.",
    "edition_id": "The edition.",
    "ends_on": "Last day (inclusive).",
    "epci_siren": "SIREN of the intercommunality (EPCI).",
    "expires_on": "Expiry date; null when none is known.",
    "from_code": "Stratum code before the change; null when none matched.",
    "from_status": "Status before the change; null for the creation.",
    "id": "Identifier (UUID).",
    "kind": "`offer` (a registration takes one) or `option` (it may add).",
    "label": "Human-readable label.",
    "lines": "Lines of the quote: the offer, the supplementary sites, then each option.",
    "max_accepted": "Cap on accepted registrations; null: none.",
    "max_inclusive": "Whether `max_population` itself is in the band.",
    "max_population": "Upper bound of the population band; null: none.",
    "max_sites": "Most sites an offer audits; null: any number.",
    "min_inclusive": "Whether `min_population` itself is in the band.",
    "min_intercommunality_population": "Minimum population of an intercommunality; null: none.",
    "min_population": "Minimum population (of the host commune, for eligibility); null: none.",
    "name": "Name.",
    "number": "Edition number (the 6th edition in 2017), not derived from the year.",
    "obtained_on": "Day the certification was obtained.",
    "offer": "Code of the offer in the edition's catalogue.",
    "offers": "The edition's offer catalogue (for an option: the offers it may be taken with).",
    "operator_only": "Only the operator adds this line (a service on request).",
    "options": "Option codes of the edition's catalogue.",
    "population": "Legal population of the territory (derived, never typed in); null: unknown.",
    "position": "Order in the list.",
    "principal": "Whether this is the structure's principal site.",
    "quantity": "Number of units.",
    "quotas": "Audits per site and channel.",
    "reason": "Why.",
    "region_code": "Code of the région.",
    "registration_deadline": "Last day a structure may apply (inclusive).",
    "registration_id": "The registration.",
    "requires_option": "The option that brings these audits (e.g. `visits`); null: every site.",
    "results_dispatch_on": "Day structures receive their results.",
    "rules": "Strata rules in order; the first that matches wins.",
    "selection_notice_on": "Day candidates are told whether they are selected.",
    "siren": "SIREN (9 digits, Luhn-checked); null when unknown.",
    "site_ids": "Sites to audit, the principal one first.",
    "sites": "Sites of the structure (the principal one first).",
    "starts_on": "First day (inclusive).",
    "status": "Current status.",
    "strata": "Strata rules of the edition, in order.",
    "structure_id": "The structure.",
    "structure_ids": "The structures created, in file order.",
    "structure_name": "Name of the structure.",
    "structure_type": "Type of the structure.",
    "structure_types": "Structure types the stratum groups.",
    "to_code": "Stratum code after the change; null when no rule matches.",
    "to_status": "Status after the change.",
    "total_excl_vat_cents": "Sum of the lines, in euro cents excluding VAT.",
    "trophies_name": "Name of the edition's trophies.",
    "type": "Structure type.",
    "unit": "What the price counts: the registration, each site, or each supplementary site.",
    "unit_price_cents": "Price of one unit, in euro cents excluding VAT.",
    "value": "The address, number or URL on that channel.",
    "vat_rate": "VAT rate (e.g. 0.2000 for 20 %).",
    "windows": "Fieldwork windows; a channel may have several.",
    "year": "Year of the edition.",
}


def _describe(schema: dict[str, Any]) -> None:
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and "description" not in prop and name in FIELD_DOCS:
            prop["description"] = FIELD_DOCS[name]


class Documented(BaseModel):
    """Every field of the API described in OpenAPI (see FIELD_DOCS)."""

    model_config = ConfigDict(json_schema_extra=_describe)


class Input(StrictRequest, Documented):
    """A request body: unknown fields are refused (a typed-in stratum or population is a 422),
    and values are taken as JSON types, uncoerced (`"2040"` is no year)."""

    model_config = ConfigDict(json_schema_extra=_describe)
