"""`python -m services.reporting` runs the service on its configured host and port."""

from services.reporting.app import create_app
from services.reporting.settings import ReportingSettings
from shared.server import serve

serve(create_app, ReportingSettings())
