"""Model files load fast and the shipped linear models score as scikit-learn does, without its per-call checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from auditor.dissatisfaction.model import ESTIMATORS, DissatisfactionScorer
from auditor.model_files import DISSATISFACTION, FoldedLogistic


def test_skops_imports_without_torch_and_trusts_the_same_types():
    """skops lists sklearn's estimators on import; the auditor's import of it must not drag torch in (about a
    second of every batch's start-up) and must end with the same default trusted types as a plain import."""
    probe = (
        "import json, sys\n"
        "from auditor.model_files import import_skops_io\n"
        "import_skops_io()\n"
        "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
        "shims = [m for m in sys.modules if m.startswith('sklearn.externals.array_api_compat.torch')]\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'shims': shims, 'names': sorted(names)}))\n"
    )
    plain = "import json\nimport skops.io\nfrom skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as n\n"
    plain += "print(json.dumps(sorted(n)))\n"
    ours, reference = (json.loads(_run(code)) for code in (probe, plain))
    assert not ours["torch"], "importing skops through the auditor imported torch"
    assert ours["shims"] == [], "a stand-in module was left behind in sys.modules"
    assert ours["names"] == reference and len(reference) > 100


def test_shims_import_normally_after_skops():
    """A later real use of the torch shim (e.g. sklearn's array API with torch inputs) still gets the real module."""
    probe = (
        "from auditor.model_files import import_skops_io\n"
        "import_skops_io()\n"
        "import sklearn.externals.array_api_compat.torch as shim\n"
        "print(hasattr(shim, 'asarray'))\n"
    )
    assert _run(probe).strip() == "True"


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", ESTIMATORS)
def test_shipped_dissatisfaction_estimators_fold_to_the_same_probabilities(name):
    scorer = DissatisfactionScorer.load()
    estimator = scorer.estimators[name]
    folded = FoldedLogistic.of(estimator)
    assert folded is not None, f"the shipped {name} model should be a foldable logistic regression"
    rng = np.random.default_rng(1)
    matrix = rng.normal(0, 1, size=(300, estimator.n_features_in_))
    assert np.allclose(folded.probabilities(matrix), estimator.predict_proba(matrix)[:, 1], atol=1e-12)


def test_something_else_is_not_folded():
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1])
    assert FoldedLogistic.of(tree) is None


def test_scoring_processes_load_the_shipped_models_without_sklearn_or_skops():
    """A batch worker or the API only scores: the folded numbers beside each skops file are enough, so neither
    scikit-learn nor skops (about a second of every worker's start-up) is imported to build an auditor."""
    probe = (
        "import json, sys\n"
        "from auditor.batch.engines import batch_settings, build_auditor\n"
        "from auditor.sop.loading import load_sop\n"
        "sop = load_sop('auditor/rules/general-inbound-call.yaml')\n"
        "auditor, notes = build_auditor(sop, batch_settings(embedder='hashing'))\n"
        "print(json.dumps([m for m in ('sklearn', 'skops', 'scipy.stats') if m in sys.modules]))\n"
    )
    assert json.loads(_run(probe)) == []


@pytest.fixture
def shipped_copy(tmp_path):
    import shutil


    folder = tmp_path / "dissatisfaction"
    shutil.copytree(DISSATISFACTION.folder(), folder)
    return folder


def _matches_the_skops_file(scorer: DissatisfactionScorer, name: str = "turn") -> bool:
    width = scorer.estimators[name].n_features_in_
    matrix = np.random.default_rng(2).normal(0, 1, size=(50, width))
    return bool(np.allclose(scorer._probabilities(name, matrix), scorer.estimators[name].predict_proba(matrix)[:, 1]))


def test_folded_numbers_score_as_the_estimators_and_the_estimators_still_load(shipped_copy):
    scorer = DissatisfactionScorer.load(shipped_copy)
    assert scorer._estimators is None, "scoring should not need the skops file"
    for name in ESTIMATORS:
        assert _matches_the_skops_file(scorer, name)  # the estimators are read from the skops file on first use


def _tamper(folder, change) -> None:
    from auditor.model_files import folded_path

    path = folded_path(folder / "dissatisfaction.skops")
    payload = json.loads(path.read_text(encoding="utf-8"))
    change(payload)
    path.write_text(json.dumps(payload), encoding="utf-8")


def test_folded_numbers_of_another_skops_file_are_ignored(shipped_copy):
    """The folded file names the SHA-256 of the skops file it was made from: after the skops file changes (a model
    retrained and copied without its folded file), the model scores as the skops file says, not as stale numbers."""
    _tamper(shipped_copy, lambda payload: payload["models"]["turn"].update(bias=payload["models"]["turn"]["bias"] + 3))
    assert not _matches_the_skops_file(DissatisfactionScorer.load(shipped_copy)), "the numbers should be in use"
    model = shipped_copy / "dissatisfaction.skops"
    model.write_bytes(model.read_bytes() + b"\0")  # the zip still opens; its hash differs
    assert _matches_the_skops_file(DissatisfactionScorer.load(shipped_copy))


@pytest.mark.parametrize(
    "damage",
    [
        lambda payload: payload["models"]["turn"].update(weights=["1", 2]),
        lambda payload: payload["models"]["turn"].update(bias=float("nan")),
        lambda payload: payload["models"]["turn"].update(bias=True),
        lambda payload: payload["models"].pop("conversation"),
        lambda payload: payload.update(format=99),
    ],
    ids=["text weights", "nan bias", "boolean bias", "model missing", "other format"],
)
def test_a_damaged_folded_file_is_ignored_not_trusted(shipped_copy, damage):
    _tamper(shipped_copy, damage)
    scorer = DissatisfactionScorer.load(shipped_copy)
    assert _matches_the_skops_file(scorer)
