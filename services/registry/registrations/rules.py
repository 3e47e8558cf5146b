"""Pure rules of registrations: eligibility, review moves, the cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registry.vocabulary import EditionStatus, RegistrationStatus, is_commune_based

R = RegistrationStatus

# Review moves: which status a registration may go to from which.
MOVES: dict[RegistrationStatus, frozenset[RegistrationStatus]] = {
    R.PENDING: frozenset({R.ACCEPTED, R.REFUSED, R.WAITLISTED, R.WITHDRAWN}),
    R.WAITLISTED: frozenset({R.ACCEPTED, R.REFUSED, R.WITHDRAWN}),
    R.ACCEPTED: frozenset({R.WITHDRAWN}),
    R.REFUSED: frozenset(),
    R.WITHDRAWN: frozenset(),
}


def move_problem(current: RegistrationStatus, to: RegistrationStatus) -> str | None:
    if to in MOVES[current]:
        return None
    return f"a {current} registration cannot become {to}"


@dataclass(frozen=True)
class Eligibility:
    """What an edition requires of a candidate."""

    status: EditionStatus
    registration_deadline: date | None
    min_population: int | None  # of the host commune, for commune-based structures
    min_intercommunality_population: int | None


@dataclass(frozen=True)
class Candidate:
    structure_type: str
    population: int | None
    commune_code: str | None


# The operator may still select structures for a representative panel during selection.
OPERATOR_STATUSES = frozenset({EditionStatus.REGISTRATION_OPEN, EditionStatus.REGISTRATION_CLOSED})


def eligibility_problem(
    rules: Eligibility, candidate: Candidate, *, today: date, by_operator: bool
) -> tuple[str, str] | None:
    """(slug, message) of the first reason the candidate may not register, or None.

    A structure applies while registrations are open and until the deadline (inclusive); the
    operator may also register structures it selects, until selection ends.
    """
    if by_operator:
        if rules.status not in OPERATOR_STATUSES:
            return (
                "edition-not-open",
                f"the edition does not take registrations (status {rules.status})",
            )
    else:
        if rules.status is not EditionStatus.REGISTRATION_OPEN:
            return (
                "edition-not-open",
                f"the edition does not take registrations (status {rules.status})",
            )
        if rules.registration_deadline is not None and today > rules.registration_deadline:
            return (
                "deadline-passed",
                f"registrations closed on {rules.registration_deadline}",
            )
    if is_commune_based(candidate.structure_type):
        minimum = rules.min_population
        what = f"commune {candidate.commune_code}"
    elif candidate.structure_type == "intercommunality":
        minimum = rules.min_intercommunality_population
        what = "the intercommunality"
    else:
        minimum = None
        what = ""
    if minimum is None:
        return None
    if candidate.population is None:
        return (
            "population-unknown",
            f"{what} has no legal population: it cannot be checked against the minimum of {minimum}",
        )
    if candidate.population < minimum:
        return (
            "population-too-small",
            f"not eligible: {what} has {candidate.population} inhabitants, "
            f"the edition requires at least {minimum}",
        )
    return None


def has_room(accepted: int, cap: int | None) -> bool:
    return cap is None or accepted < cap
