"""The registry service process: `python -m services.registry`. It binds its HTTP port before the
service is imported (see kit.launch), so nothing heavy is imported here."""

from services.kit.launch import serve
from services.registry.settings import RegistrySettings

settings = RegistrySettings()
serve("services.registry.main:build_app", settings.http_host, settings.http_port)
