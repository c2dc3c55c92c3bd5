"""Step detectors: each finds turns that perform SOP steps and says why (evidence with score and method)."""
