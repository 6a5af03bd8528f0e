"""The reports service process: `python -m services.reports`. It binds its HTTP port before the
service is imported (see kit.launch), so nothing heavy is imported here."""

from services.kit.launch import serve
from services.reports.settings import ReportsSettings

settings = ReportsSettings()
serve("services.reports.main:build_app", settings.http_host, settings.http_port)
