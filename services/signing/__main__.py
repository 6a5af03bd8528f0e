"""The signing service process: `python -m services.signing`. It binds its HTTP port before the
service is imported (see kit.launch), so nothing heavy is imported here."""

from services.kit.launch import serve
from services.signing.settings import SigningSettings

settings = SigningSettings()
serve(
    "services.signing.main:build_app", settings.http_host, settings.http_port, workers=settings.http_workers
)
