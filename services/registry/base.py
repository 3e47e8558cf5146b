"""The registry's declarative base: one metadata for every domain's tables, messaging included."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata
