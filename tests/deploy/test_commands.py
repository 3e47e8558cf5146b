"""The one-shot commands as the deploy files run them, in prod with only what each needs:
`barometer nats setup` with NATS_URL alone, `barometer migrate` with DATABASE_URL alone; a
service, by contrast, refuses to serve in prod without explicit database, NATS and key."""

from __future__ import annotations

import pytest

from barometer_cli.main import main
from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from shared.topology import DURABLES, STREAM_SPECS


def test_nats_setup_in_prod_needs_only_nats(
    nats_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("NATS_URL", nats_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["nats", "setup"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(STREAM_SPECS) + len(DURABLES)
    assert all(line.endswith(": unchanged") for line in lines), lines  # the fixture set it up


def test_migrate_in_prod_needs_only_the_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("NATS_URL", raising=False)
    assert main(["migrate", "--service", "scoring"]) == 0
    assert "scoring: migrated to head" in capsys.readouterr().out


def test_a_service_refuses_to_serve_in_prod_without_explicit_settings() -> None:
    settings = RegistrySettings(environment="prod", database_url="postgresql://db/x")
    with pytest.raises(ValueError, match=r"nats_url.*jwt_public_key"):
        create_app(settings)
