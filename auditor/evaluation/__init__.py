"""Measure the auditor against gold labels: per-step precision / recall / F1 and verdict accuracy."""
