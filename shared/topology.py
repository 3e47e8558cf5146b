"""The JetStream topology as code: every stream (one per producer) and every durable consumer
(one per consuming service and producer), with the settings production needs.

One definition serves three readers: `barometer nats setup` creates or updates what is listed
here, each service checks at start that what it relies on matches it (and refuses to run
otherwise), and the deploy files' tests check the manifests against it. Nothing else creates
or changes a stream or a consumer: a consumer never touches its producer's stream.

Settings (per service, with unprefixed fallbacks shared by the four; see `ServiceSettings`):
- stream: replicas (`NATS_REPLICAS`), file storage, limits retention with a maximum age
  (`STREAM_MAX_AGE_SECONDS`) and size (`STREAM_MAX_BYTES`, -1 = none; when reached, JetStream
  refuses new events, which then wait in the outbox, rather than dropping unread ones), and
  a duplicate window covering the producer's outbox retry horizon
  (`ServiceSettings.duplicate_window_seconds`: attempts * (max retry delay + publish timeout),
  50 min 50 s by default);
- durable: explicit acks, `ack_wait` (`<SVC>_CONSUMER_ACK_WAIT_SECONDS`: an unacked message,
  its member dead, goes to another member after it), no server-side `backoff` (the consumer
  naks a failed event with its own growing delay, `CONSUMER_NAK_DELAY_SECONDS` doubled up to
  `CONSUMER_MAX_NAK_DELAY_SECONDS`; a server BackOff overrides the delay of a nak: with
  nats-server 2.15 a nak'ed message then waits the BackOff's step, not the nak's delay), no
  server-side `max_deliver` (-1: the consumer dead-letters itself after `CONSUMER_MAX_DELIVERIES` into its
  `dead_letters` table, and a database outage, which naks without counting, must never make
  JetStream give up on an event), `max_ack_pending` (`CONSUMER_MAX_ACK_PENDING`), replicas inherited
  from the stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from shared.events import STREAMS


class TopologySettings(Protocol):
    """What the topology reads of a service's settings (`ServiceSettings` has it all)."""

    @property
    def nats_replicas(self) -> int: ...
    @property
    def stream_max_age_seconds(self) -> float: ...
    @property
    def stream_max_bytes(self) -> int: ...
    @property
    def duplicate_window_seconds(self) -> float: ...
    @property
    def consumer_ack_wait_seconds(self) -> float: ...
    @property
    def consumer_max_ack_pending(self) -> int: ...


@dataclass(frozen=True)
class StreamSpec:
    producer: str

    @property
    def name(self) -> str:
        return STREAMS[self.producer]

    @property
    def subjects(self) -> tuple[str, ...]:
        return (f"{self.producer}.>",)


@dataclass(frozen=True)
class DurableSpec:
    durable: str
    service: str  # the service whose processes are its members
    producer: str
    subjects: tuple[str, ...]

    @property
    def stream(self) -> str:
        return STREAMS[self.producer]


STREAM_SPECS: tuple[StreamSpec, ...] = tuple(StreamSpec(p) for p in STREAMS)

DURABLES: tuple[DurableSpec, ...] = (
    DurableSpec(
        "fieldwork-registry",
        "fieldwork",
        "registry",
        (
            "registry.edition.created.v1",
            "registry.registration.accepted.v1",
            "registry.registration.accepted.v2",
        ),
    ),
    DurableSpec(
        "scoring-fieldwork",
        "scoring",
        "fieldwork",
        (
            "fieldwork.audit.validated.v1",
            "fieldwork.audit.validated.v2",
            "fieldwork.grid.published.v1",
            "fieldwork.voice.received.v1",
        ),
    ),
    DurableSpec(
        "reporting-registry",
        "reporting",
        "registry",
        (
            "registry.edition.calendar_changed.v1",
            "registry.edition.created.v1",
            "registry.edition.status_changed.v1",
            "registry.registration.accepted.v1",
            "registry.registration.accepted.v2",
            "registry.registration.withdrawn.v1",
            "registry.structure.stratum_changed.v1",
        ),
    ),
    DurableSpec(
        "reporting-fieldwork",
        "reporting",
        "fieldwork",
        ("fieldwork.audit.validated.v1", "fieldwork.audit.validated.v2"),
    ),
    DurableSpec("reporting-scores", "reporting", "scoring", ("scoring.scores.updated.v1",)),
    DurableSpec(
        "fieldwork-opt-ins", "fieldwork", "registry", ("registry.partner_opt_in.changed.v1",)
    ),
    DurableSpec(
        "reporting-opt-ins", "reporting", "registry", ("registry.partner_opt_in.changed.v1",)
    ),
    DurableSpec(
        "registry-webhooks",
        "registry",
        "registry",
        (
            "registry.edition.status_changed.v1",
            "registry.registration.accepted.v1",
            "registry.registration.accepted.v2",
        ),
    ),
    DurableSpec(
        "registry-webhooks-fieldwork",
        "registry",
        "fieldwork",
        ("fieldwork.appeal.decided.v1",),
    ),
)


def stream_of(service: str) -> StreamSpec | None:
    """The stream `service` produces into, if it produces."""
    return next((s for s in STREAM_SPECS if s.producer == service), None)


def durables_of(service: str) -> tuple[DurableSpec, ...]:
    return tuple(d for d in DURABLES if d.service == service)


def durable_spec(name: str) -> DurableSpec:
    for spec in DURABLES:
        if spec.durable == name:
            return spec
    raise KeyError(f"durable consumer {name!r} is not in shared/topology.py")


def stream_config(spec: StreamSpec, settings: TopologySettings) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.NEW,
        num_replicas=settings.nats_replicas,
        max_age=settings.stream_max_age_seconds,
        max_bytes=settings.stream_max_bytes,
        duplicate_window=settings.duplicate_window_seconds,
    )


def consumer_config(
    durable: str, subjects: Sequence[str], *, ack_wait: float, max_ack_pending: int
) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        filter_subjects=sorted(subjects),
        ack_wait=ack_wait,
        backoff=None,
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
    )


def durable_config(spec: DurableSpec, settings: TopologySettings) -> ConsumerConfig:
    return consumer_config(
        spec.durable,
        spec.subjects,
        ack_wait=settings.consumer_ack_wait_seconds,
        max_ack_pending=settings.consumer_max_ack_pending,
    )


# What setup sets and the start check compares; `(field, what the message calls it)`.
_STREAM_FIELDS = (
    "subjects",
    "storage",
    "retention",
    "discard",
    "num_replicas",
    "max_age",
    "max_bytes",
    "duplicate_window",
)
_CONSUMER_FIELDS = (
    "filter_subjects",
    "ack_policy",
    "deliver_policy",
    "ack_wait",
    "backoff",
    "max_deliver",
    "max_ack_pending",
)
# A change JetStream cannot make in place: the stream or consumer must be recreated by hand.
_FIXED = {"storage", "retention", "deliver_policy", "ack_policy"}


def _normalised(config: StreamConfig | ConsumerConfig, field: str) -> Any:
    value = config.as_dict().get(field)
    if field == "filter_subjects":
        assert isinstance(config, ConsumerConfig)
        found = config.filter_subjects or ([config.filter_subject] if config.filter_subject else [])
        return sorted(found)
    if field == "subjects":
        return sorted(config.subjects or []) if isinstance(config, StreamConfig) else []
    if field == "backoff":
        return list(value) if isinstance(value, list) else []
    if isinstance(value, list):
        return list(value)
    if hasattr(value, "value"):  # an enum
        return value.value
    if value is None and field == "max_deliver":
        return -1
    if value is None and field == "num_replicas":
        return 1
    return value


def differences(
    expected: StreamConfig | ConsumerConfig, actual: StreamConfig | ConsumerConfig
) -> list[str]:
    """Each managed setting that differs: `name: expected X, found Y`."""
    fields = _STREAM_FIELDS if isinstance(expected, StreamConfig) else _CONSUMER_FIELDS
    found = []
    for field in fields:
        want, have = _normalised(expected, field), _normalised(actual, field)
        if want != have:
            found.append(f"{field}: expected {want}, found {have}")
    return found


class TopologyMismatch(RuntimeError):
    """A stream or durable consumer is missing or differs from `shared/topology.py`."""


@dataclass(frozen=True)
class Change:
    kind: Literal["stream", "consumer"]
    name: str
    action: Literal["created", "updated", "unchanged"]
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        tail = f" ({'; '.join(self.details)})" if self.details else ""
        return f"{self.kind} {self.name}: {self.action}{tail}"


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> Change:
    """Create the stream, or bring it to `config`; no call at all when it already matches."""
    assert config.name is not None
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        return Change("stream", config.name, "created")
    diff = differences(config, info.config)
    if not diff:
        return Change("stream", config.name, "unchanged")
    _refuse_fixed("stream", config.name, diff)
    await js.update_stream(config)
    return Change("stream", config.name, "updated", tuple(diff))


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> Change:
    """Create the durable on `stream`, or bring it to `config` (its position is kept)."""
    name = f"{stream}/{config.durable_name}"
    assert config.durable_name is not None
    try:
        info = await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, config)
        return Change("consumer", name, "created")
    diff = differences(config, info.config)
    if not diff:
        return Change("consumer", name, "unchanged")
    _refuse_fixed("consumer", name, diff)
    await js.add_consumer(stream, config)  # same durable: an update
    return Change("consumer", name, "updated", tuple(diff))


def _refuse_fixed(kind: str, name: str, diff: Iterable[str]) -> None:
    fixed = [d for d in diff if d.split(":", 1)[0] in _FIXED]
    if fixed:
        raise TopologyMismatch(
            f"{kind} {name} cannot be changed in place ({'; '.join(fixed)}): "
            "delete and recreate it (see docs/operations.md)"
        )


async def setup(
    js: JetStreamContext,
    streams: Iterable[tuple[StreamSpec, TopologySettings]],
    durables: Iterable[tuple[DurableSpec, TopologySettings]],
) -> list[Change]:
    """Every stream, then every durable, each with the settings of the service that owns it
    (a stream its producer's, a durable its consumer's)."""
    changes = [await ensure_stream(js, stream_config(s, cfg)) for s, cfg in streams]
    for spec, cfg in durables:
        changes.append(await ensure_consumer(js, spec.stream, durable_config(spec, cfg)))
    return changes


async def check_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Raise `TopologyMismatch` naming the stream and each differing setting."""
    name = str(config.name)
    await _check("stream", name, js.stream_info(name), config)


async def check_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Raise `TopologyMismatch` naming the durable and each differing setting."""
    durable = str(config.durable_name)
    await _check(
        "durable consumer", f"{stream}/{durable}", js.consumer_info(stream, durable), config
    )


async def _check(
    kind: str, name: str, info: Awaitable[Any], config: StreamConfig | ConsumerConfig
) -> None:
    try:
        found = (await info).config
    except NotFoundError:
        raise TopologyMismatch(
            f"{kind} {name} does not exist: run `barometer nats setup`"
        ) from None
    diff = differences(config, found)
    if diff:
        raise TopologyMismatch(
            f"{kind} {name} differs from shared/topology.py ({'; '.join(diff)}): "
            "run `barometer nats setup` with this service's settings"
        )
