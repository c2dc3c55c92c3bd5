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


KNOWN_SOP_CRASHES = {
    "impossible date": "yaml.safe_load builds datetime.date and raises ValueError (not YAMLError) for 2024-13-45",
    "integer of 5,000": "yaml.safe_load calls int() on the digits: ValueError past sys.get_int_max_str_digits()",
    "explicit tag": "yaml.safe_load raises ValueError/KeyError/IndexError/AttributeError, not YAMLError, for !!int x",
    "nested": "PyYAML's composer and constructor recurse once per level: RecursionError",
    "'before' chain": "_order_cycle's visit() recurses once per step of a 'before' chain: RecursionError",
    "alias bomb": "_order_graph turns every 'before' entry into str(): messages of 10,000s of characters",
}


def _crash_reason(hostile: HostileSop) -> str:
    return next(reason for key, reason in KNOWN_SOP_CRASHES.items() if key in hostile.name)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(hostile, marks=pytest.mark.xfail(strict=True, reason=_crash_reason(hostile)))
        for hostile in hostile_sops(chain=1_500)
    ],
    ids=lambda hostile: hostile.name,
)
def test_hostile_sop_yaml_is_a_valid_sop_or_a_short_sop_error_naming_the_file(hostile: HostileSop) -> None:
    try:
        sop = sop_from_text(hostile.text, source="hostile.yaml")
    except SopError as error:
        assert not hostile.valid
        assert sop_violations(error, "hostile.yaml") == []
    else:
        assert hostile.valid and sop.steps
