"""Cited guide sections travel with the answer's message (chat/sources.py)."""

from __future__ import annotations

from chat.sources import clean_sources, fold_sources, section_url

CONSENT = {"id": "consent", "title": "Consent"}


def test_the_sources_payload_is_folded_onto_the_text_before_it() -> None:
    messages = [
        {"recipient_id": "x", "text": "Consent is ..."},
        {"recipient_id": "x", "text": "From the guide: Consent (consent)"},
        {"recipient_id": "x", "custom": {"sources": [CONSENT]}},
        {"recipient_id": "x", "text": "Anything else?"},
    ]
    assert fold_sources(messages) == [
        {"recipient_id": "x", "text": "Consent is ..."},
        {"recipient_id": "x", "text": "From the guide: Consent (consent)", "sources": [CONSENT]},
        {"recipient_id": "x", "text": "Anything else?"},
    ]


def test_a_payload_with_no_text_before_it_becomes_its_own_message() -> None:
    assert fold_sources([{"custom": {"sources": [CONSENT]}}]) == [
        {"text": "From the guide: Consent (consent)", "sources": [CONSENT]}]
    # Other custom payloads are left alone.
    assert fold_sources([{"custom": {"other": 1}}]) == [{"custom": {"other": 1}}]


def test_only_well_formed_section_ids_make_links() -> None:
    assert clean_sources([
        CONSENT,
        {"id": "javascript:alert(1)", "title": "x"},
        {"id": "../../etc", "title": "x"},
        {"id": "fgm", "title": None},
        "not a dict",
    ]) == [CONSENT, {"id": "fgm", "title": "fgm"}]
    assert clean_sources("consent") == []
    assert section_url("https://portal.example/", "fgm") == (
        "https://portal.example/guidance/sections/fgm")
