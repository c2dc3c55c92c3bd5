"""Schemathesis against the API's OpenAPI schema, deeper than CI: zero 5xx is the target (issue 7).

The app runs in-process (``create_app``, the fast hashing embedder, a keyword SOP, a review store in a
temporary folder); ``tests/api/fuzzing.py`` does the work and ``tests/api/test_schemathesis.py`` runs the same checks
with a small budget. Three phases, each over every operation of the schema:

- generated: ``--examples`` positive cases (valid by the schema) and as many negative ones (breaking it) per
  operation, drawn by Hypothesis; each sent with a valid key, a bearer token, no key or a wrong one, and naming real
  SOPs, live sessions (0-2 turns pushed), stored audits and step ids 3 times in 4, so requests reach the handlers;
- coverage: schemathesis' deterministic boundary values of every parameter and body field (and methods the
  operation does not have, which must get 405);
- stateful: ``--scenarios`` sequences of up to 6 calls along the links schemathesis infers from the schema (open a
  session, push turns, close or discard it; store an audit, fetch it, record verdicts).

Checks on every answer: not a 5xx (and no exception escaped the app), status code documented, content type and body
as the schema declares (errors included: one error shape), and nothing but an error for a request without a valid key.

The same run goes against a SQLite review store and a PostgreSQL one (``--store``; a throwaway PostgreSQL 15 cluster
from Debian's package, installed when missing, as the test suite does).

    HF_HUB_OFFLINE=1 python -m bench.api_schemathesis [--examples 300] [--scenarios 200] [--seed 0] [--store both]
        [--write]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time
from pathlib import Path

import schemathesis
from schemathesis import GenerationMode

from bench.report import replace_section
from tests.api.fuzzing import ApiFuzzer, OperationTally, status_summary

COMMAND = "python -m bench.api_schemathesis --write"
STORE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL 15"}


def run(
    examples: int, scenarios: int, seed: int, database_url: str | None = None
) -> tuple[dict[str, OperationTally], dict[str, int], float]:
    tallies: dict[str, OperationTally] = {}
    phases: dict[str, int] = {}
    started = time.perf_counter()
    overrides = {"database_url": database_url} if database_url else {}
    with tempfile.TemporaryDirectory() as folder, ApiFuzzer(Path(folder), **overrides).started() as fuzzer:
        fuzzer.run(
            {GenerationMode.POSITIVE: examples, GenerationMode.NEGATIVE: examples}, random_seed=seed, tallies=tallies
        )
        phases["generated"] = sum(tally.requests for tally in tallies.values())
        print(f"generated: {phases['generated']:,} requests, {time.perf_counter() - started:.0f} s", flush=True)
        phases["coverage"] = fuzzer.coverage(tallies)
        print(f"coverage: {phases['coverage']:,} requests, {time.perf_counter() - started:.0f} s", flush=True)
        phases["stateful"] = fuzzer.stateful(tallies, scenarios)
        print(f"stateful: {phases['stateful']:,} requests, {time.perf_counter() - started:.0f} s", flush=True)
    return tallies, phases, time.perf_counter() - started


def markdown(
    tallies: dict[str, OperationTally], phases: dict[str, int], seconds: float, args: argparse.Namespace
) -> str:
    lines = [
        "| operation | requests | status codes seen | 5xx | failed checks |",
        "|---|---|---|---|---|",
    ]
    for label, tally in tallies.items():
        lines.append(
            f"| `{label}` | {tally.requests:,} | {status_summary(tally.statuses)} | {tally.server_errors} "
            f"| {tally.failure_count} |"
        )
    requests = sum(tally.requests for tally in tallies.values())
    server_errors = sum(tally.server_errors for tally in tallies.values())
    failed = sum(tally.failure_count for tally in tallies.values())
    lines.append(f"| **all {len(tallies)} operations** | **{requests:,}** | | **{server_errors}** | **{failed}** |")
    failures = [f"- `{label}`: {title}" for label, tally in tallies.items() for title in tally.failures] or ["None."]
    notes = (
        f"\nschemathesis {schemathesis.__version__}, in-process against `create_app` (hashing embedder), "
        f"seed {args.seed}: {phases['generated']:,} generated requests ({args.examples} positive and "
        f"{args.examples} negative examples per operation, fewer where Hypothesis runs out of distinct ones: an "
        "operation without parameters or body varies only in how it authenticates; a valid key, a bearer token, no "
        f"key or a wrong one; real SOP, session, audit and step ids 3 times in 4), {phases['coverage']:,} "
        "coverage-phase requests (boundary "
        f"values; other methods must get 405) and {phases['stateful']:,} stateful requests ({args.scenarios} "
        f"scenarios along the inferred links), {seconds:.0f} s on the 2-core machine. Checks: no 5xx and no "
        "exception escaping the app, status code documented, content type and body as declared (errors too), and "
        "no request without a valid key served. Target (issue 7): zero 5xx.\n\nDistinct failed checks:\n\n"
    )
    return "\n".join(lines) + "\n" + notes + "\n".join(failures) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=300, help="positive and negative examples per operation")
    parser.add_argument("--scenarios", type=int, default=200, help="stateful scenarios")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="review store: SQLite, a throwaway PostgreSQL 15 cluster (tests/pg.py; Debian's package), or each",
    )
    parser.add_argument("--write", action="store_true", help="update the api-fuzzing section of docs/benchmarks.md")
    args = parser.parse_args()
    logging.getLogger("auditor.api").setLevel(logging.CRITICAL)  # 5xx tracebacks are kept in the tallies
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    sections = []
    with contextlib.ExitStack() as stack:
        for store in stores:
            url = None
            if store == "postgresql":
                from tests.pg import running_cluster

                url = stack.enter_context(running_cluster()).database("fuzz")
            tallies, phases, seconds = run(args.examples, args.scenarios, args.seed, url)
            text = f"#### {STORE_NAMES[store]} review store\n\n" + markdown(tallies, phases, seconds, args)
            print(text, flush=True)
            for label, tally in tallies.items():
                for title, report in tally.failures.items():
                    print(f"\n## {label}: {title}\n\n{report[:4000]}")
            sections.append(text)
    if args.write:
        replace_section("api-fuzzing", COMMAND, "\n".join(sections))


if __name__ == "__main__":
    main()
