"""The notify service process: `python -m services.notify`. It binds its HTTP port before the
service is imported (see kit.launch), so nothing heavy is imported here."""

from services.kit.launch import serve
from services.notify.settings import NotifySettings

settings = NotifySettings()
serve("services.notify.main:build_app", settings.http_host, settings.http_port)
