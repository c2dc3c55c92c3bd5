"""Insights for SOP owners: which steps are done, which matter for outcomes, and how the best agents say them."""
