"""Event contracts: the CloudEvents envelope and one schema per event type and version."""

from shared.contracts.envelope import (
    CloudEventSchema,
    EnvelopeError,
    Event,
    envelope_attributes,
    event_type_for,
    routing_key_for,
)
from shared.contracts.registry import (
    REGISTRY,
    ContractRegistry,
    ContractViolation,
    EventContract,
    UnknownEventType,
)

__all__ = [
    "REGISTRY",
    "CloudEventSchema",
    "ContractRegistry",
    "ContractViolation",
    "EnvelopeError",
    "Event",
    "EventContract",
    "UnknownEventType",
    "envelope_attributes",
    "event_type_for",
    "routing_key_for",
]

# Each producer's contracts register themselves in REGISTRY on import.
from shared.contracts import intake, notifications, planning, referrals  # noqa: F401
