"""SOPs: the checklist format, its validation and the built-in library in ``auditor/rules/``."""
