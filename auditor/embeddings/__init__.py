"""Sentence embeddings behind one small interface: encode texts -> unit vectors."""
