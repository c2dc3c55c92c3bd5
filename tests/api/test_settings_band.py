"""AUDITOR_UNCERTAIN_BAND: a deployment widens or narrows what goes to a person; a malformed band stops start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auditor.api.settings import Settings
from auditor.checklist.verdicts import UncertainBand


def test_band_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUDITOR_UNCERTAIN_BAND", "0.1,0.6")
    assert Settings().band() == UncertainBand(0.1, 0.6)
    monkeypatch.delenv("AUDITOR_UNCERTAIN_BAND")
    assert Settings().band() is None, "unset: the band measured for the embedder and scorer"


@pytest.mark.parametrize("band", ["0.6,0.1", "0.1", "a,b", "0.1,1.5"])
def test_malformed_band_is_refused_with_how_to_write_it(monkeypatch, band):
    monkeypatch.setenv("AUDITOR_UNCERTAIN_BAND", band)
    with pytest.raises(ValidationError, match="uncertain band"):
        Settings()


def test_an_empty_band_means_the_measured_one(monkeypatch):
    monkeypatch.setenv("AUDITOR_UNCERTAIN_BAND", "")
    assert Settings().band() is None
