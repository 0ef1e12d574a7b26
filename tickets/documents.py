"""CPF and CNPJ: normalisation, check-digit validation and display format.

CNPJ includes the alphanumeric form issued since July 2026 (IN RFB 2.229/2024):
the first 12 positions may be 0-9 or A-Z, each worth ``ord(char) - 48``; the
two check digits stay numeric and use the same modulo-11 weights.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_STRIP = re.compile(r"[\s./\-]")
_CPF = re.compile(r"^\d{11}$")
_CNPJ = re.compile(r"^[0-9A-Z]{12}\d{2}$")


def normalize_document(value: str) -> str:
    """Remove punctuation and spaces, upper-case letters."""
    return _STRIP.sub("", value or "").upper()


def _mod11_digit(values: list[int], weights: list[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_valid_cpf(value: str) -> bool:
    doc = normalize_document(value)
    if not _CPF.match(doc) or doc == doc[0] * 11:
        return False
    digits = [int(c) for c in doc]
    first = _mod11_digit(digits[:9], list(range(10, 1, -1)))
    second = _mod11_digit(digits[:10], list(range(11, 1, -1)))
    return digits[9] == first and digits[10] == second


_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def cnpj_check_digits(base12: str) -> str:
    """The two check digits for the first 12 characters of a CNPJ."""
    values = [ord(c) - 48 for c in base12.upper()]
    first = _mod11_digit(values, _CNPJ_W1)
    second = _mod11_digit([*values, first], _CNPJ_W2)
    return f"{first}{second}"


def is_valid_cnpj(value: str) -> bool:
    doc = normalize_document(value)
    if not _CNPJ.match(doc) or doc == doc[0] * 14:
        return False
    return doc[12:] == cnpj_check_digits(doc[:12])


def cpf_check_digits(base9: str) -> str:
    digits = [int(c) for c in base9]
    first = _mod11_digit(digits, list(range(10, 1, -1)))
    second = _mod11_digit([*digits, first], list(range(11, 1, -1)))
    return f"{first}{second}"


def document_kind(value: str) -> str:
    """'cpf', 'cnpj' or '' for a normalised value of the right length."""
    doc = normalize_document(value)
    if len(doc) == 11:
        return "cpf"
    if len(doc) == 14:
        return "cnpj"
    return ""


def validate_document(value: str) -> None:
    """Django validator for a CPF or CNPJ field (accepts punctuation)."""
    doc = normalize_document(value)
    if len(doc) == 11:
        if not is_valid_cpf(doc):
            raise ValidationError(_("CPF inválido: confira os dígitos verificadores."), code="invalid_cpf")
    elif len(doc) == 14:
        if not is_valid_cnpj(doc):
            raise ValidationError(_("CNPJ inválido: confira os dígitos verificadores."), code="invalid_cnpj")
    else:
        raise ValidationError(
            _("Informe um CPF (11 dígitos) ou um CNPJ (14 caracteres)."), code="invalid_document"
        )


def validate_cnpj(value: str) -> None:
    if not is_valid_cnpj(value):
        raise ValidationError(_("CNPJ inválido: confira os dígitos verificadores."), code="invalid_cnpj")


def format_document(value: str) -> str:
    doc = normalize_document(value)
    if len(doc) == 11:
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    if len(doc) == 14:
        return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"
    return doc
