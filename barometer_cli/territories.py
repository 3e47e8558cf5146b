"""`barometer registry import-territories`: load a vintage of territories into the registry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from services.registry.settings import RegistrySettings
from services.registry.territories.rules import DataSetError
from services.registry.territories.schemas import ImportOut
from services.registry.territories.service import has_imports, import_into_database
from shared.errors import ProblemError


def summary(report: ImportOut) -> list[str]:
    lines = [f"territories {report.vintage} ({report.source}) imported in {report.seconds:.2f} s"]
    for kind in ("regions", "departements", "communes", "commune_parts", "epcis"):
        c = getattr(report, kind)
        lines.append(
            f"  {kind:<14} {c.received:>6} received  {c.created:>6} created  "
            f"{c.updated:>6} updated  {c.unchanged:>6} unchanged  "
            f"{c.without_population:>5} without population"
        )
    lines.append(
        f"  EPCI members   {report.memberships_created} added, {report.memberships_removed} removed"
    )
    return lines


def import_territories(path: Path | None, vintage: int | None) -> int:
    """Import into the configured database (or the embedded one under `.data/`)."""
    from barometer_cli.dev import embedded_infrastructure

    if path is not None and vintage is None:
        print("import refused: say which vintage the files are (e.g. --vintage 2027)")
        return 2
    settings = RegistrySettings()
    with contextlib.ExitStack() as stack:
        if not settings.database_url:
            infra = stack.enter_context(embedded_infrastructure(need_nats=False))
            settings = settings.model_copy(update={"database_url": infra.database_url})
        try:
            report = asyncio.run(import_into_database(settings, path, vintage))
        except (DataSetError, ProblemError) as exc:
            print(f"import refused: {exc}")
            for error in getattr(exc, "errors", []):
                print(f"  {error}")
            return 2
    for line in summary(report):
        print(line)
    return 0


def ensure_territories(database_url: str, say: Callable[[str], None]) -> None:
    """Import the bundled data set unless some vintage is already there (`barometer dev`)."""
    settings = RegistrySettings(database_url=database_url)
    if asyncio.run(has_imports(settings)):
        return
    report = asyncio.run(import_into_database(settings))
    say(
        f"territories {report.vintage} imported in {report.seconds:.1f} s: "
        f"{report.communes.received} communes, {report.epcis.received} EPCI, "
        f"{report.departements.received} départements, {report.regions.received} régions"
    )
