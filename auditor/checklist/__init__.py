"""Checklist evaluation: from step hits to per-step verdicts, a weighted score and pass/fail."""
