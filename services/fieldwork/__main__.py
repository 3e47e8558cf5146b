"""`python -m services.fieldwork` runs the service on its configured host and port."""

from services.fieldwork.app import create_app
from services.fieldwork.settings import FieldworkSettings
from shared.server import serve

serve(create_app, FieldworkSettings())
