"""The four services as the CLI knows them: module, settings, migrations, default port."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from shared.migrations import upgrade
from shared.server import serve
from shared.settings import PROJECT_ROOT, ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    @property
    def migrations_dir(self) -> Path:
        return PROJECT_ROOT / "services" / self.name / "migrations"

    def settings(self, **overrides: object) -> ServiceSettings:
        module = importlib.import_module(f"{self.module}.settings")
        cls = getattr(module, f"{self.name.capitalize()}Settings")
        settings: ServiceSettings = cls(**overrides)
        return settings

    def serve(self) -> None:
        create_app = importlib.import_module(f"{self.module}.app").create_app
        serve(create_app, self.settings())

    def migrate(self, database_url: str) -> None:
        schema = self.settings().database_schema
        upgrade(self.migrations_dir, database_url, schema)


SERVICES: tuple[ServiceSpec, ...] = tuple(
    ServiceSpec(name) for name in ("registry", "fieldwork", "scoring", "reporting")
)


def migrate_all(database_url: str) -> None:
    for spec in SERVICES:
        spec.migrate(database_url)
