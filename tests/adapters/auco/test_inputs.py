"""The seed's rules, checked on the gateway's side before any upstream call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.auco.inputs import (
    CameraCheck,
    OtpChannel,
    ReaderInput,
    SignaturePosition,
    SignatureRequest,
    SignerInput,
    ValidationOptions,
    validate,
)

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
ANA = SignerInput("Ana García", "ana.garcia@example.com", "+573001110001")
LUIS = SignerInput("Luis Martínez", "luis.martinez@example.com", "+573001110002")
REQUEST = SignatureRequest(
    name="Contrato de apertura",
    subject="Firma su contrato",
    message="Hola, por favor firma.",
    signers=(ANA, LUIS),
)


def paths(request: SignatureRequest, today: date = NOW) -> list[tuple[str, ...]]:
    return [v.path for v in validate(request, today)]


def test_a_plain_request_is_valid() -> None:
    assert validate(REQUEST, NOW) == []


def test_every_field_at_once_can_be_valid() -> None:
    request = replace(
        REQUEST,
        signers=(
            replace(
                ANA,
                role="APPROVER",
                order=1,
                positions=(SignaturePosition(1, 0.65, 0.8, 150, 50),),
                camera=True,
                options=ValidationOptions(camera=CameraCheck.PHOTO),
            ),
            replace(LUIS, order=2, label=True),
        ),
        readers=(ReaderInput("Auditoría", "audit@bank.example"),),
        remember=6,
        expired_date=NOW + timedelta(days=3, seconds=1),
        otp_code=True,
        options=ValidationOptions(
            otp_code=OtpChannel.EMAIL, whatsapp=True, both=True, video=True
        ),
        notification=False,
        folder="onboarding",
    )

    assert validate(request, NOW) == []


@pytest.mark.parametrize("remember", [1, 4, 0, -3])
def test_remember_must_be_a_positive_multiple_of_3(remember: int) -> None:
    assert paths(replace(REQUEST, remember=remember)) == [("remember",)]


@pytest.mark.parametrize(
    ("expires", "ok"),
    [
        (NOW + timedelta(days=3), False),
        (NOW + timedelta(days=3, seconds=1), True),
        (date(2025, 3, 13), False),
        (date(2025, 3, 14), True),  # midnight UTC: 3 days 14.5 hours away
        (datetime(2025, 3, 14, 12, 0), True),  # naive means UTC
    ],
)
def test_expired_date_must_be_more_than_3_days_ahead(expires: date, ok: bool) -> None:
    assert paths(replace(REQUEST, expired_date=expires)) == (
        [] if ok else [("expiredDate",)]
    )


def test_a_bare_today_means_its_midnight() -> None:
    request = replace(REQUEST, expired_date=date(2025, 3, 14))

    assert paths(request, date(2025, 3, 10)) == []
    assert paths(request, date(2025, 3, 11)) == [("expiredDate",)]


def test_signer_emails_must_not_repeat_whatever_their_case() -> None:
    twin = replace(LUIS, email="ANA.GARCIA@example.com")

    assert paths(replace(REQUEST, signers=(ANA, twin))) == [("signers", "1", "email")]


def test_signer_phones_must_not_repeat() -> None:
    twin = replace(LUIS, phone=ANA.phone)

    assert paths(replace(REQUEST, signers=(ANA, twin))) == [("signers", "1", "phone")]


@pytest.mark.parametrize(
    ("signer", "path"),
    [
        (replace(LUIS, name=" "), ("signers", "1", "name")),
        (replace(LUIS, email=""), ("signers", "1", "email")),
        (replace(LUIS, email="luis @example.com"), ("signers", "1", "email")),
        (replace(LUIS, phone="3001110002"), ("signers", "1", "phone")),
        (replace(LUIS, role="READER"), ("signers", "1", "role")),
        (replace(LUIS, order=0), ("signers", "1", "order")),
        # Seed 003's table: signProfile[x].phone String Requerido.
        (replace(LUIS, phone=None), ("signers", "1", "phone")),
        (replace(LUIS, phone=" "), ("signers", "1", "phone")),
        (
            replace(LUIS, positions=(SignaturePosition(1, 1.5, 0.5, 10, 10),)),
            ("signers", "1", "positions", "0"),
        ),
        (
            replace(LUIS, options=ValidationOptions(camera=CameraCheck.PHOTO)),
            ("signers", "1", "options", "camera"),
        ),
        (
            replace(
                LUIS,
                otp_code=False,
                options=ValidationOptions(otp_code=OtpChannel.PHONE),
            ),
            ("signers", "1", "options", "otpCode"),
        ),
        (
            replace(LUIS, options=ValidationOptions(video=True)),
            ("signers", "1", "options", "video"),
        ),
    ],
)
def test_each_signer_rule_names_its_field(signer: SignerInput, path: tuple) -> None:
    assert paths(replace(REQUEST, signers=(ANA, signer))) == [path]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        (ValidationOptions(camera=CameraCheck.IDENTIFICATION), ("options", "camera")),
        (ValidationOptions(otp_code=OtpChannel.EMAIL), ("options", "otpCode")),
        (ValidationOptions(both=True), ("options", "both")),
        (
            ValidationOptions(identification_card_back=True),
            ("options", "identificationCardBack"),
        ),
    ],
)
def test_an_option_needs_its_flag_at_the_same_level(
    options: ValidationOptions, path: tuple
) -> None:
    assert paths(replace(REQUEST, options=options)) == [path]


def test_a_flag_on_the_request_does_not_license_a_signers_option() -> None:
    signer = replace(LUIS, options=ValidationOptions(camera=CameraCheck.PHOTO))

    request = replace(REQUEST, camera=True, signers=(ANA, signer))

    assert paths(request) == [("signers", "1", "options", "camera")]


def test_required_fields_and_readers() -> None:
    request = replace(
        REQUEST,
        name="",
        subject=" ",
        message="",
        signers=(),
        readers=(ReaderInput("", "nobody"),),
        folder=" ",
        sender_email="not-an-email",
    )

    assert paths(request) == [
        ("name",),
        ("subject",),
        ("message",),
        ("signers",),
        ("readers", "0", "name"),
        ("readers", "0", "email"),
        ("folder",),
        ("senderEmail",),
    ]
