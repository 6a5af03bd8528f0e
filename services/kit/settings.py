"""Settings shared by every service, from environment variables with local defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where `make up` keeps engines' data and the dev-only keys. Git-ignored.
LOCAL_DIR = Path(__file__).resolve().parents[2] / ".local"
DEFAULT_MONGO_PORT = 27117
DEFAULT_KAFKA_PORT = 19092


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
    def database_name(self) -> str:
        return self.mongodb_database or f"netral_{self.service_name}"

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"
