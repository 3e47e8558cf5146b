"""The life of an audit task: which action moves it from which status to which (pure)."""

from __future__ import annotations

from services.fieldwork.statuses import TaskStatus

P, A, G, S, R, V, C = (  # G: in proGress
    TaskStatus.PLANNED,
    TaskStatus.ASSIGNED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.SUBMITTED,
    TaskStatus.RETURNED,
    TaskStatus.VALIDATED,
    TaskStatus.CANCELLED,
)

# action -> {from status: to status}
TRANSITIONS: dict[str, dict[TaskStatus, TaskStatus]] = {
    "plan": {},
    "assign": {P: A, A: A, G: A},  # re-assigning an assigned or started task restarts it
    "start": {A: G},
    "submit": {A: S, G: S, R: S},
    "return": {S: R},
    "validate": {S: V},
    "revalidate": {V: V},  # an upheld appeal corrects a validated audit
    "cancel": {P: C, A: C, G: C, S: C, R: C},
}


class IllegalTransition(ValueError):
    pass


def next_status(action: str, current: TaskStatus) -> TaskStatus:
    moves = TRANSITIONS[action]
    if current not in moves:
        allowed = ", ".join(sorted(s.value for s in moves)) or "no status"
        raise IllegalTransition(
            f"cannot {action} an audit task that is {current.value} (only from {allowed})"
        )
    return moves[current]
