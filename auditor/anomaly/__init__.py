"""Unusual conversations and agent x step outliers: features, the anomaly detector, peer deviations (issue 4)."""
