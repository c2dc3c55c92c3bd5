"""SOP compliance auditor."""
