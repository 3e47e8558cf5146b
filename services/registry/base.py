"""The registry's declarative base: one metadata for every domain's tables, messaging and
idempotency included."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.idempotency import idempotency_table
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)
idempotency = idempotency_table(metadata)


class Base(DeclarativeBase):
    metadata = metadata
