"""Settings shared by every service, from environment variables with local defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where `make up` keeps engines' data and the dev-only keys. Git-ignored.
LOCAL_DIR = Path(__file__).resolve().parents[2] / ".local"
DEFAULT_MONGO_PORT = 27117
DEFAULT_KAFKA_PORT = 19092


def _local_link(variable: str, default_port: int) -> str:
    """`make up` starts each service on its NETRAL_*_PORT (netral.devstack): the links follow."""
    return f"http://127.0.0.1:{os.environ.get(variable, default_port)}"


@dataclass(frozen=True)
class WebLinks:
    """The base URL (no trailing slash) of each service's pages (`links` in every template)."""

    registry: str
    signing: str
    reports: str
    notify: str

    def of(self, service: str) -> str:
        """The base URL of `service`'s pages ("" when the service is not one of the four)."""
        return str(getattr(self, service, "")).rstrip("/")

    def bases(self) -> list[str]:
        return [self.of(name) for name in ("registry", "signing", "reports", "notify")]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    service_name: str = "netral"
    dev_mode: bool = False
    """Local development only (`make up`, the tests): keys not configured fall back to DEV-ONLY
    files and tokens to the local dev issuer. Off, a service refuses to start without them."""
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    mongodb_uri: str = f"mongodb://127.0.0.1:{DEFAULT_MONGO_PORT}/?replicaSet=rs0"
    mongodb_database: str = ""
    """Empty means `netral_<service_name>`: each service owns its own database."""
    mongodb_timeout_ms: int = 5000

    kafka_bootstrap_servers: str = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    kafka_topic_prefix: str = ""
    """Prepended to every topic and consumer group; tests use it to stay apart."""
    kafka_partitions: int = 3
    kafka_replication_factor: int = 1
    kafka_enable_idempotence: bool = False
    """Real Kafka supports it (on in deploy/k8s); the local Tansu broker does not."""
    kafka_create_topics: bool = True
    """Create missing topics at start (locally). Off where topics are managed resources
    (Strimzi KafkaTopics): the service then only checks that its own topics exist."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    """The CA that signed the brokers' certificates (Strimzi's cluster CA)."""
    kafka_session_timeout_ms: int = 6_000
    """The smallest a default Kafka broker accepts (group.min.session.timeout.ms). Tansu makes a
    group's first join wait about half of it, and the second about twice it: 3 s and 11 s here,
    against 5 s and 18 s at aiokafka's 10 s."""
    kafka_heartbeat_interval_ms: int = 1_000
    kafka_rebalance_timeout_ms: int = 10_000

    auth_issuer: str = "netral-dev"
    auth_audience: str = "netral"
    auth_jwks_url: str | None = None
    """Production: the identity provider's JWKS; required unless DEV_MODE. Unset in development:
    the local dev public key is used."""
    auth_public_key_file: Path = LOCAL_DIR / "dev-keys" / "jwt-public.pem"

    http_max_body_bytes: int = Field(default=1_048_576, ge=0)
    """The largest request body of any path a service gives no limit of its own (create_app's
    `body_limits`): refused with 413 while it is read, before it is parsed."""
    http_max_json_depth: int = Field(default=32, ge=1)
    """The deepest nesting of a JSON body: deeper is refused with 422 before it is parsed."""
    http_access_log: bool = True
    """The service's own access log (kit.accesslog): route template, status, duration; never the
    raw path or the client's address. Uvicorn's access log is always off."""

    consumer_batch_size: int = Field(default=500, ge=1)
    """Events handled per transaction by idempotent consumers."""
    relay_batch_size: int = Field(default=5000, ge=1)
    relay_poll_seconds: float = 0.2
    relay_lease_seconds: float = 10.0

    log_level: str = "INFO"

    # The pages (services.webkit): one session for every service, one sign-in.
    web_public_url: str | None = None
    """Production: the one public address of every service's pages (the Ingress routes by
    path), e.g. https://netral.jabarprov.go.id. Set, it replaces the four URLs below."""
    web_registry_url: str = Field(default_factory=lambda: _local_link("NETRAL_REGISTRY_PORT", 8001))
    """Locally each service's pages are on its own port (`make up`'s NETRAL_*_PORT)."""
    web_signing_url: str = Field(default_factory=lambda: _local_link("NETRAL_SIGNING_PORT", 8002))
    web_reports_url: str = Field(default_factory=lambda: _local_link("NETRAL_REPORTS_PORT", 8003))
    web_notify_url: str = Field(default_factory=lambda: _local_link("NETRAL_NOTIFY_PORT", 8004))
    web_session_key: SecretStr | None = None
    """Signs the session cookie, the same for every service. Production: from a secret store.
    Unset in DEV_MODE: a DEV-ONLY key generated under .local/dev-keys."""
    web_session_key_file: Path = LOCAL_DIR / "dev-keys" / "web-session.key"
    web_session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    """How long a sign-in lasts, from the moment of signing in (not renewed by activity)."""
    oidc_issuer: str | None = None
    """Production sign-in: the OpenID Connect issuer (its /.well-known/openid-configuration is
    read when someone signs in). Required unless DEV_MODE."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid profile"

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> ServiceSettings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD"
            )
        return self

    @property
    def web_links(self) -> WebLinks:
        """The base URL of each service's pages, for links between them."""
        if self.web_public_url:
            public = self.web_public_url.rstrip("/")
            return WebLinks(registry=public, signing=public, reports=public, notify=public)
        return WebLinks(
            registry=self.web_registry_url.rstrip("/"),
            signing=self.web_signing_url.rstrip("/"),
            reports=self.web_reports_url.rstrip("/"),
            notify=self.web_notify_url.rstrip("/"),
        )

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"netral_{self.service_name}"

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"
