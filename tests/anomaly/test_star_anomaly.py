"""On real STAR dialogues, the most anomalous conversations are enriched for troubled ones (issue 4 target).

Audits the first conversations of every STAR task with the real multilingual embedder, fits the detector on one
half (labels unused), and checks that the top 10% most anomalous of the other half are far more often
``dissatisfied`` or ended early than the base rate. The data lives outside the repository and is never copied in.
"""

from __future__ import annotations

import numpy as np
import pytest

from auditor.anomaly.agent_steps import agent_step_deviations
from auditor.anomaly.detector import fit_anomaly_detector
from tests.conftest import EXTERNAL

pytestmark = pytest.mark.slow

STAR = EXTERNAL / "star_dev.jsonl"
LIMIT = 60
TOP = 0.10
MIN_LIFT = 1.5
"""Measured lift is about 2.8x (docs/benchmarks.md, section anomaly); 1.5x leaves room for the smaller sample."""

if not STAR.exists():
    pytest.skip(f"STAR data not found at {STAR} (see ../shared/data/external/README.md)", allow_module_level=True)


@pytest.fixture(scope="module")
def audited():
    from auditor.embeddings.provider import make_embedder
    from bench.anomaly_star import audit_star
    from bench.star_data import TASKS

    return audit_star(TASKS, LIMIT, make_embedder("use-m"), "zero-shot")


def test_top_anomalies_are_enriched_for_dissatisfied_or_incomplete_conversations(audited):
    from bench.anomaly_star import in_baseline

    baseline = [a for a in audited if in_baseline(a.conversation.id, 0.5)]
    held = [a for a in audited if not in_baseline(a.conversation.id, 0.5)]
    detector = fit_anomaly_detector([a.features for a in baseline], trained_on="STAR baseline half")
    scores = np.array([anomaly.score for anomaly in detector.score_many([a.features for a in held])])
    troubled = np.array([a.troubled for a in held])
    top = np.argsort(-scores, kind="stable")[: int(round(TOP * len(held)))]
    precision, base_rate = troubled[top].mean(), troubled.mean()
    assert precision > MIN_LIFT * base_rate, f"precision@10% {precision:.3f} vs base rate {base_rate:.3f}"


def test_agent_step_table_runs_on_real_agents(audited):
    rows = agent_step_deviations([a.result for a in audited])
    assert rows and all(0 <= row.p_value <= row.q_value <= 1 for row in rows)
