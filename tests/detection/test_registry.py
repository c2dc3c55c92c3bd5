"""The step-detector registry: the one list of names a step may give in ``detector:``, each a ``StepDetector``."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.detection.hits import StepHit
from auditor.detection.registry import DETECTORS, StepDetector, detector_names, named_detectors
from auditor.detection.sop_index import build_sop_index
from auditor.sop.loading import sop_from_mapping
from auditor.sop_format import Sop
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import make_conversation


def test_every_registered_detector_is_a_step_detector_under_its_own_name(hashing_embedder, pipelines):
    artifacts = ArtifactBuilder(hashing_embedder, pipelines).build(make_conversation([("agent", "Hello there.")]))
    for name in detector_names():
        detector: StepDetector = DETECTORS[name]()
        assert (detector.name, bool(detector.version)) == (name, True)
        sop = sop_from_mapping({"id": "s", "name": "S", "steps": [{"id": "a", "name": "A", "detector": name}]})
        hits = detector.detect(artifacts, build_sop_index(sop, hashing_embedder))
        assert all(isinstance(hit, StepHit) and hit.method == name for hit in hits)


def test_named_detectors_are_fresh_once_each_in_registry_order():
    names = detector_names()
    first = named_detectors([*reversed(names), *names])
    assert [detector.name for detector in first] == names
    assert all(a is not b for a, b in zip(first, named_detectors(names), strict=True))
    assert named_detectors([]) == []


def test_a_name_not_registered_is_refused():
    with pytest.raises(ValueError, match="no built-in detector 'telepathy'"):
        named_detectors(["telepathy", *detector_names()])


@pytest.mark.parametrize("field, message", [("detector", "detector 'telepathy'"), ("when", "condition 'telepathy'")])
def test_an_auditor_refuses_an_sop_that_bypassed_loading_with_an_unknown_name(field, message, hashing_embedder):
    sop = Sop.model_validate({"id": "s", "name": "S", "steps": [{"id": "a", "name": "A", field: "telepathy"}]})
    with pytest.raises(ValueError, match=f"no built-in {message}"):
        Auditor(sop, hashing_embedder)
