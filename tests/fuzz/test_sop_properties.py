"""Property tests for the SOP parser: any YAML gives a valid SOP or a SopError naming the file, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from auditor.sop.loading import SopError, load_sop, sop_from_text
from tests.fuzz.strategies import HostileSop, fuzz_settings, hostile_sops, sop_texts, sop_violations

FUZZ = fuzz_settings(150)


@FUZZ
@given(sop_texts())
def test_any_sop_text_is_a_valid_sop_or_a_sop_error_naming_the_file(text: str) -> None:
    try:
        sop = sop_from_text(text, source="fuzz.yaml")
    except SopError as error:
        assert error.problems
        assert sop_violations(error, "fuzz.yaml") == []
    else:
        assert sop.steps


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "gb18030"])
def test_sop_file_in_another_encoding_is_an_error_naming_the_file(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "投诉处理.yaml"
    path.write_bytes("id: complaint\nname: 投诉处理\nsteps:\n  - id: greet\n    name: 问候\n".encode(encoding))

    with pytest.raises(SopError) as raised:
        load_sop(path)

    assert [(problem.path, problem.code) for problem in raised.value.problems] == [(str(path), "unreadable")]


@pytest.mark.parametrize("hostile", hostile_sops(chain=1_500), ids=lambda hostile: hostile.name)
def test_hostile_sop_yaml_is_a_valid_sop_or_a_short_sop_error_naming_the_file(hostile: HostileSop) -> None:
    try:
        sop = sop_from_text(hostile.text, source="hostile.yaml")
    except SopError as error:
        assert not hostile.valid
        assert sop_violations(error, "hostile.yaml") == []
    else:
        assert hostile.valid and sop.steps
