"""`python -m services.registry` runs the service on its configured host and port."""

from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from shared.server import serve

serve(create_app, RegistrySettings())
