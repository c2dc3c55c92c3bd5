"""Model files load fast and the shipped linear models score as scikit-learn does, without its per-call checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from auditor.dissatisfaction.model import ESTIMATORS, DissatisfactionScorer
from auditor.model_files import FoldedLogistic


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
