"""Routes by resource: health, audits, SOPs, live sessions."""
