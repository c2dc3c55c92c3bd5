"""Reports of an audit: results.jsonl, per-agent and per-step tables (CSV, console) and an HTML report."""
