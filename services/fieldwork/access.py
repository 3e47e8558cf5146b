"""Who may call a fieldwork route: the roles as `Annotated` dependencies for the routers."""

from __future__ import annotations

from typing import Annotated

from shared.auth import Principal, Role, require

Operator = Annotated[Principal, require(Role.OPERATOR)]
Auditor = Annotated[Principal, require(Role.AUDITOR)]
Structure = Annotated[Principal, require(Role.STRUCTURE)]
OperatorOrAuditor = Annotated[Principal, require(Role.OPERATOR, Role.AUDITOR)]
OperatorOrStructure = Annotated[Principal, require(Role.OPERATOR, Role.STRUCTURE)]
