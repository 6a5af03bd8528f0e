"""How every Kafka client of a service connects: FastStream's broker, the outbox relay's
producer and the admin client share one security configuration from the settings."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from services.kit.settings import ServiceSettings

SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's security object for the settings; None for plaintext (local Tansu)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if use_ssl else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    return SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username or "", password, ssl_context=context, use_ssl=use_ssl
    )


def kafka_client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The same configuration as aiokafka keyword arguments, for the clients FastStream does
    not make (FastStream's own translation, so the two cannot drift apart)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    options |= parse_security(kafka_security(settings))
    return options
