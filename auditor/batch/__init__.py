"""Batch audits at scale: a streaming, resumable pipeline (one process or Dask) with memory flat in the input size.

``runner.run_batch`` streams conversations from the inputs, audits them in batches on an engine
(``engines.LocalEngine`` or ``dask_engine.DaskEngine``), appends each batch to results.jsonl atomically, then scores
anomalies over the whole audit and writes the reports from streamed aggregates. See docs/batch.md.
"""
