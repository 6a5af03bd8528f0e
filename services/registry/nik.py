"""NIK protection. The NIK is sensitive personal data (UU 27/2022): stored encrypted, found by
a keyed hash, and never published."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.registry.domain import EmployeeInput, nik_fingerprint, non_asn_id


class NikVault:
    def __init__(self, secret: bytes) -> None:
        def derive(purpose: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)

        self._fernet = Fernet(base64.urlsafe_b64encode(derive(b"netral-nik-encryption")))
        self._hash_key = derive(b"netral-nik-fingerprint")

    @staticmethod
    def generate() -> bytes:
        """A new secret, for the DEV-ONLY key file of a machine with none configured."""
        return base64.b64encode(Fernet.generate_key())

    def fingerprint(self, nik: str) -> str:
        return nik_fingerprint(nik, self._hash_key)

    def encrypt(self, nik: str) -> str:
        return self._fernet.encrypt(nik.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def sealed(self, nik: str | None) -> dict[str, str] | None:
        """The fields an employee record keeps of a NIK: its keyed hash and its ciphertext."""
        if nik is None:
            return None
        return {"nik_hash": self.fingerprint(nik), "nik_encrypted": self.encrypt(nik)}

    def opened(self, record: dict[str, object]) -> str | None:
        """The NIK of an employee record, if it keeps one."""
        token = record.get("nik_encrypted")
        return None if token is None else self.decrypt(str(token))

    def employee_id(self, employee: EmployeeInput) -> str:
        """The NIP, or for a non-ASN worker an id derived from the NIK's keyed hash, so that
        re-imports of the same person land on the same record."""
        if employee.nip is not None:
            return employee.nip
        assert employee.nik is not None
        return non_asn_id(self.fingerprint(employee.nik))
