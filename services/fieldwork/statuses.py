"""Statuses of audit tasks and appeals (plain enums, shared by rules, tables and schemas)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    PLANNED = "planned"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    RETURNED = "returned_for_correction"
    VALIDATED = "validated"
    CANCELLED = "cancelled"


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"
