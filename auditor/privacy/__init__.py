"""Personal data in text: find and redact it before it is shown or written."""
