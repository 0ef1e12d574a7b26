"""CPF and CNPJ check digits, normalisation and display.

Expected values were computed by hand (modulo 11, weights 10..2 / 11..2 for
CPF and 5..2,9..2 / 6..2,9..2 for CNPJ, letters worth ord(c) - 48):

* CPF 529.982.247-25: sum 295 -> 295 % 11 = 9 -> DV1 = 2;
  sum 347 -> 347 % 11 = 6 -> DV2 = 5.
* CNPJ 11.222.333/0001-81: sum 102 -> 3 -> DV1 = 8; sum 120 -> 10 -> DV2 = 1.
* CNPJ 12.ABC.345/01DE-35 (the Receita's alphanumeric example; A=17, B=18,
  C=19, D=20, E=21): sum 459 -> 8 -> DV1 = 3; sum 424 -> 6 -> DV2 = 5.
"""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tickets.documents import (
    cnpj_check_digits,
    cpf_check_digits,
    document_kind,
    format_document,
    is_valid_cnpj,
    is_valid_cpf,
    normalize_document,
    validate_cnpj,
    validate_document,
)


@pytest.mark.parametrize("value", ["529.982.247-25", "52998224725", " 529 982 247 25 "])
def test_cpf_with_correct_check_digits_is_valid_with_or_without_punctuation(value):
    assert is_valid_cpf(value)


@pytest.mark.parametrize(
    "value",
    [
        "529.982.247-26",  # second check digit wrong
        "529.982.247-15",  # first check digit wrong
        "111.111.111-11",  # repeated digits pass the arithmetic but are not a CPF
        "000.000.000-00",
        "529.982.247-2",  # too short
        "5299822472A",  # letters are never part of a CPF
    ],
)
def test_cpf_with_wrong_digits_or_shape_is_invalid(value):
    assert not is_valid_cpf(value)


def test_cpf_check_digits_of_base_529982247_are_25():
    assert cpf_check_digits("529982247") == "25"


def test_cpf_check_digit_is_zero_when_remainder_is_below_two():
    # 111.444.777-35: DV1 sum 162 % 11 = 8 -> 3; DV2 sum 204 % 11 = 6 -> 5.
    # 123.456.789-09: DV1 sum 210 % 11 = 1 (< 2) -> 0; DV2 sum 255 % 11 = 2 -> 9.
    assert cpf_check_digits("111444777") == "35"
    assert cpf_check_digits("123456789") == "09"


@pytest.mark.parametrize("value", ["11.222.333/0001-81", "11222333000181", "12.ABC.345/01DE-35", "12ABC34501DE35"])
def test_cnpj_with_correct_check_digits_is_valid(value):
    assert is_valid_cnpj(value)


def test_alphanumeric_cnpj_in_lower_case_is_accepted():
    assert is_valid_cnpj("12.abc.345/01de-35")


@pytest.mark.parametrize(
    "value",
    [
        "11.222.333/0001-82",
        "11.222.333/0001-71",
        "12.ABC.345/01DE-36",  # the official example with a wrong DV
        "12.ABC.345/01DE-53",  # DVs swapped
        "12.ABC.345/01DE-3E",  # check digits are always numeric
        "00.000.000/0000-00",
        "11.111.111/1111-11",
        "11.222.333/0001",  # too short
    ],
)
def test_cnpj_with_wrong_digits_or_shape_is_invalid(value):
    assert not is_valid_cnpj(value)


def test_cnpj_check_digits_of_alphanumeric_base_are_35():
    assert cnpj_check_digits("12ABC34501DE") == "35"
    assert cnpj_check_digits("12abc34501de") == "35"


def test_normalize_document_strips_punctuation_and_upper_cases():
    assert normalize_document(" 12.abc.345/01de-35 ") == "12ABC34501DE35"
    assert normalize_document("529.982.247-25") == "52998224725"
    assert normalize_document(None) == ""


def test_document_kind_is_decided_by_length():
    assert document_kind("529.982.247-25") == "cpf"
    assert document_kind("12.ABC.345/01DE-35") == "cnpj"
    assert document_kind("1234") == ""


def test_validate_document_accepts_valid_cpf_and_cnpj():
    validate_document("529.982.247-25")
    validate_document("11.222.333/0001-81")
    validate_document("12.abc.345/01de-35")


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("529.982.247-26", "invalid_cpf", "CPF inválido: confira os dígitos verificadores."),
        ("111.111.111-11", "invalid_cpf", "CPF inválido: confira os dígitos verificadores."),
        ("11.222.333/0001-82", "invalid_cnpj", "CNPJ inválido: confira os dígitos verificadores."),
        ("12.ABC.345/01DE-36", "invalid_cnpj", "CNPJ inválido: confira os dígitos verificadores."),
        ("1234567", "invalid_document", "Informe um CPF (11 dígitos) ou um CNPJ (14 caracteres)."),
    ],
)
def test_validate_document_refuses_with_portuguese_message(value, code, message):
    with pytest.raises(ValidationError) as exc:
        validate_document(value)
    assert exc.value.code == code
    assert exc.value.messages == [message]


def test_validate_cnpj_refuses_a_valid_cpf():
    with pytest.raises(ValidationError, match="CNPJ inválido"):
        validate_cnpj("529.982.247-25")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("52998224725", "529.982.247-25"),
        ("11222333000181", "11.222.333/0001-81"),
        ("12abc34501de35", "12.ABC.345/01DE-35"),
        ("123", "123"),
    ],
)
def test_format_document_shows_the_usual_mask(raw, shown):
    assert format_document(raw) == shown


# --- properties: every base gets check digits that validate, and any other pair fails ---

_digit_bases = st.text("0123456789", min_size=9, max_size=9).filter(lambda s: len(set(s)) > 1)
_cnpj_bases = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12).filter(
    lambda s: len(set(s)) > 1
)


@given(base=_digit_bases, wrong=st.integers(min_value=1, max_value=99))
def test_cpf_built_from_any_base_validates_and_any_other_digits_do_not(base, wrong):
    dv = cpf_check_digits(base)
    assert is_valid_cpf(base + dv)
    other = f"{(int(dv) + wrong) % 100:02d}"
    assert not is_valid_cpf(base + other)


@given(base=_cnpj_bases, wrong=st.integers(min_value=1, max_value=99))
def test_cnpj_built_from_any_alphanumeric_base_validates_and_any_other_digits_do_not(base, wrong):
    dv = cnpj_check_digits(base)
    assert is_valid_cnpj(base + dv)
    assert is_valid_cnpj(format_document(base.lower() + dv))
    other = f"{(int(dv) + wrong) % 100:02d}"
    assert not is_valid_cnpj(base + other)
