"""Settings of the scoring service (environment prefix `SCORING_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore")

    service_name: str = "scoring"
    port: int = 8003
    consumer_batch_size: int = 500
    # Group statistics are recomputed at most this often per edition (0: after every batch);
    # an idle flush refreshes what is left dirty every `group_settle_seconds`.
    group_refresh_seconds: float = 5.0
    group_settle_seconds: float = 1.0
    # `scoring.audit.scored.v1` per audit as well (the first slice's event; audit scores now
    # ride `scoring.scores.updated.v1`), for a reader that still needs it.
    publish_audit_scores: bool = False
    rescore_chunk_size: int = 2000
