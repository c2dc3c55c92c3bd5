"""Transcripts: the conversation model, speaker roles and the file loaders."""
