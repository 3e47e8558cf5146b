"""`python -m services.scoring` runs the service on its configured host and port."""

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.server import serve

serve(create_app, ScoringSettings())
