"""Structured JSON logs on stdout, one object per line."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream gives its "faststream" logger a coloured text handler of its own; the
    # services' broker loggers sit below it, so their lines would not be JSON.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Off in kit.launch too; disabled here as well, so that no other way of serving the app
    # brings back its lines with the client's address and the raw path.
    logging.getLogger("uvicorn.access").disabled = True
    # aiokafka logs every rebalance at INFO; keep warnings and errors.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
