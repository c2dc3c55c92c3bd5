"""Customer dissatisfaction per turn and per conversation: named signals, a learned scorer, the trajectory.

Score with ``DissatisfactionScorer.load(folder).score(artifacts)``; train with
``auditor.dissatisfaction.training.train_dissatisfaction`` (imports scikit-learn, so it is not imported here).
"""

from auditor.dissatisfaction.model import (
    DissatisfactionModelError,
    DissatisfactionOutcome,
    DissatisfactionScorer,
)
from auditor.dissatisfaction.signals import SIGNALS, SignalHit
from auditor.dissatisfaction.trajectory import Trajectory

__all__ = [
    "SIGNALS",
    "DissatisfactionModelError",
    "DissatisfactionOutcome",
    "DissatisfactionScorer",
    "SignalHit",
    "Trajectory",
]
