"""Batch audits at scale: a streaming, resumable pipeline (one process or Dask) with memory flat in the input size.

``runner.start_batch`` opens a run; iterating it streams conversations from the inputs, audits them in batches on an
engine (``engines.LocalEngine`` or ``dask_engine.DaskEngine``) and appends each batch to results.jsonl atomically;
its explicit ``finish()`` then scores anomalies over the whole audit, rewrites results.jsonl with them and writes the
reports from streamed aggregates (``runner.run_batch`` takes both steps). See docs/batch.md.
"""
