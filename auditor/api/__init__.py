"""The HTTP API of the auditor (FastAPI): thin routes over ``auditor``; start it with ``auditor serve``."""
