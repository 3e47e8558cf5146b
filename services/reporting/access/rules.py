"""Who reads what (pure): results are confidential to their structure and released on the
edition's dispatch date; the national barometer is public once the edition is published;
laureates once the operator publishes them. A refusal about another structure's data is a
404, so existence does not leak."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.reporting.readmodel.rules import PUBLISHED_STATUSES

OPERATOR, STRUCTURE, PARTNER = "operator", "structure", "partner"


class Principal(Protocol):
    """The caller as these rules need it (shared.auth's Principal fits)."""

    @property
    def subject(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scopes(self) -> Set[str]: ...


# A partner reading the results of the structures that opted in to it (checked beside these
# rules, against the local copy of the opt-ins).
RESULTS_SCOPE = "results:read"
BAROMETER_SCOPE = "barometer:read"  # a partner reading the barometer before publication


@dataclass(frozen=True)
class EditionAccess:
    status: str
    results_dispatch_on: date | None
    laureates_published: bool


def may_read_results(
    principal: Principal, structure_id: str, edition: EditionAccess, today: date
) -> bool:
    """The operator always; a structure (or a partner with the results scope, for a structure
    that opted in to it) from the edition's results dispatch day on, a structure for itself
    only."""
    if principal.role == OPERATOR:
        return True
    released = edition.results_dispatch_on is not None and today >= edition.results_dispatch_on
    if principal.role == STRUCTURE:
        return released and principal.subject == structure_id
    if principal.role == PARTNER:
        return released and RESULTS_SCOPE in principal.scopes
    return False


def may_read_barometer(principal: Principal | None, edition: EditionAccess) -> bool:
    if edition.status in PUBLISHED_STATUSES:
        return True
    if principal is None:
        return False
    return principal.role == OPERATOR or BAROMETER_SCOPE in principal.scopes


def may_read_laureates(principal: Principal | None, edition: EditionAccess) -> bool:
    if edition.laureates_published:
        return True
    return principal is not None and principal.role == OPERATOR


def barometer_is_public(edition: EditionAccess) -> bool:
    return edition.status in PUBLISHED_STATUSES
