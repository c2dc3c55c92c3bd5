"""Vendors' transcript JSON, recognised by its content and converted to the project's transcript mapping.

Each module names its format (``NAME``, ``FORMAT``, written to the conversation's ``transcript_format``), says
whether a JSON object is one of its files (``matches``) and converts it (``convert``), raising
``TranscriptError`` that names the vendor's own field (``results.items[3].start_time``). A speaker the vendor
gives a role becomes ``agent`` / ``customer``; a diarized label (``spk_0``, ``Speaker 1``, ``ch_1``) is kept as it
is, for the loader's speaker-role handling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.transcripts.vendors import amazon_transcribe, azure_speech, ccai_insights, contact_lens


@dataclass(frozen=True)
class VendorFormat:
    """One vendor's JSON: its name, its content test and its converter."""

    name: str
    format: str
    matches: Callable[[Mapping[str, Any]], bool]
    convert: Callable[[Mapping[str, Any], str], dict[str, Any]]


VENDORS = tuple(
    VendorFormat(module.NAME, module.FORMAT, module.matches, module.convert)
    for module in (contact_lens, amazon_transcribe, ccai_insights, azure_speech)
)
"""In the order they are tried (Contact Lens first: a Call Analytics file could carry other vendors' keys)."""

KNOWN = "Amazon Transcribe, Amazon Connect Contact Lens, Google CCAI Insights or Azure speech JSON"
NOT_A_TRANSCRIPT = f"turns: missing (not a transcript in this project's shape, and not {KNOWN} either)"
"""The reason for a JSON object that is neither the project's transcript nor a known vendor's."""


def vendor_of(obj: Mapping[str, Any]) -> VendorFormat | None:
    """The vendor whose JSON ``obj`` is, or None (an object with ``turns`` is the project's own shape)."""
    if "turns" in obj:
        return None
    return next((vendor for vendor in VENDORS if vendor.matches(obj)), None)

