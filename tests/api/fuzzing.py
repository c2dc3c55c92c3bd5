"""Schemathesis against the API in-process: every operation of the OpenAPI schema, generated requests, checked.

Shared by ``tests/api/test_schemathesis.py`` (a small deterministic run in CI) and ``bench/api_schemathesis.py``
(a deeper run that writes the api-fuzzing section of docs/benchmarks.md).

The app is the real one (``create_app``) with the fast hashing embedder, a keyword SOP and a SQLite review store in
a temporary folder. Three phases:

- ``run``: for each operation, Hypothesis draws schemathesis cases (positive: valid by the schema; negative:
  violating it), then a way to authenticate (mostly a valid key; sometimes none, a wrong one or a bearer token) and,
  for parameters and body fields that name things, mostly a real one (a known SOP, a freshly opened live session
  with 0-2 turns, a stored audit, the SOP's step ids), so requests reach the handlers and not only the 404s;
- ``coverage``: schemathesis' deterministic boundary values, and methods an operation does not have (405);
- ``stateful``: call sequences along the links schemathesis infers from the schema.

Each response is checked: no 5xx, status code documented, content type and body as the schema declares (errors
too), and a request without a valid key never answered with anything but a 4xx (401, or 400/413/422 when its body
was refused before the key was looked at).

The app runs as uvicorn would serve it: an exception that escapes after Starlette has answered 500 is recorded
(with its traceback) instead of breaking the run.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auditor.api.app import create_app
from tests.api.conftest import CALL, CHECKOUT_SOP, KEY, make_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PUBLIC = frozenset({"GET /healthz", "GET /readyz"})
AUTH_CHOICES = ("key", "key", "key", "key", "key", "key", "bearer", "none", "wrong")
AUTH_HEADERS = {
    "key": {"X-API-Key": KEY},
    "bearer": {"Authorization": f"Bearer {KEY}"},
    "none": {},
    "wrong": {"X-API-Key": KEY + "-wrong"},
}
STEP_IDS = ("greet", "verify", "discuss", "close")


@dataclass
class OperationTally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    """First full report of each distinct failure (its title line is the key)."""
    failure_count: int = 0

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


class _AsServed:
    """The app as uvicorn serves it: Starlette has already answered 500 when an exception escapes; keep the trace."""

    def __init__(self, app: Any):
        self.app = app
        self.tracebacks: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise
            self.tracebacks.append(traceback.format_exc())


class ApiFuzzer:
    """One app, its schema and a client; ``run`` fuzzes every operation and returns a tally per operation."""

    def __init__(self, folder: Path, **overrides: object):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "card-check.yaml").write_text(CHECKOUT_SOP, encoding="utf-8")
        limits: dict[str, object] = {
            "rate_limit_per_second": 1e6,
            "rate_limit_burst": 1e6,
            "max_sessions": 1_000_000,
            "max_sessions_per_key": 1_000_000,
            "auth_failures_allowed": 1_000_000,  # wrong keys are sent on purpose; 401 is what is checked
        }
        self.app = create_app(make_settings(folder, **(limits | overrides)))
        self.served = _AsServed(self.app)
        self.client = asgi.get_client(self.served)
        self.sop_ids: list[str] = []
        self.audit_ids: list[int] = []

    @contextmanager
    def started(self) -> Iterator[ApiFuzzer]:
        with self.client:
            try:
                self.schema = schemathesis.openapi.from_asgi("/openapi.json", self.served)
                headers = {"X-API-Key": KEY}
                self.sop_ids = [sop["id"] for sop in self.client.get("/v1/sops", headers=headers).json()]
                for number in range(2):
                    body = {"id": f"stored-{number}", "agent_id": "a-7", "turns": CALL[: 4 + 3 * number]}
                    stored = self.client.post(
                        "/v1/review/audit", params={"sop": "card-check"}, json=body, headers=headers
                    )
                    self.audit_ids.append(stored.json()["audit_id"])
                yield self
            finally:
                asgi.shutdown_lifespans()

    def operations(self) -> list[Any]:
        return [result.ok() for result in self.schema.get_all_operations()]

    def run(
        self,
        examples: dict[GenerationMode, int],
        *,
        random_seed: int | None = None,
        tallies: dict[str, OperationTally] | None = None,
    ) -> dict[str, OperationTally]:
        """Fuzz each operation with ``examples[mode]`` cases per generation mode; derandomized unless seeded."""
        tallies = tallies if tallies is not None else {}
        for operation in self.operations():
            tally = tallies.setdefault(operation.label, OperationTally())
            for mode, count in examples.items():
                self._fuzz(operation, mode, count, random_seed, tally)
        return tallies

    def _fuzz(self, operation: Any, mode: GenerationMode, count: int, random_seed: int | None, tally: OperationTally):
        cases = operation.as_strategy(generation_mode=mode)

        @settings(
            max_examples=count,
            derandomize=random_seed is None,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases, data=st.data())
        def fuzz(case: Any, data: st.DataObject) -> None:
            self._send(case, data, tally)

        if random_seed is not None:
            fuzz = seed(random_seed)(fuzz)
        try:
            fuzz()
        except Unsatisfiable:  # nothing to negate: an operation without parameters or body
            pass

    def _send(self, case: Any, data: st.DataObject, tally: OperationTally) -> None:
        self._use_real_names(case, data)
        self.send(case, data.draw(st.sampled_from(AUTH_CHOICES), label="auth"), tally)

    def send(self, case: Any, auth: str, tally: OperationTally) -> Any:
        """Send one case with this way of authenticating; count its status and every check that fails."""
        headers = AUTH_HEADERS[auth]
        before = len(self.served.tracebacks)
        response = case.call(session=self.client, headers=headers)
        self.check(case, response, auth, tally, before)
        return response

    def check(self, case: Any, response: Any, auth: str, tally: OperationTally, tracebacks_before: int) -> None:
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        problems = []
        if case.method.upper() != case.operation.method.upper():  # the coverage phase tries other methods too
            if response.status_code != 405:
                problems.append(f"{case.method} on {case.operation.path}: {response.status_code}, not 405")
        elif "" in (case.path_parameters or {}).values():
            # an empty path parameter makes the URL another route's (/v1/sops/ redirects to the list): only no 5xx
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=AUTH_HEADERS[auth])
            except (Exception, BaseExceptionGroup) as error:
                problems.append(str(error))
        else:
            try:
                case.validate_response(response, checks=CHECKS, headers=AUTH_HEADERS[auth])
            except (Exception, BaseExceptionGroup) as error:  # schemathesis reports failures as an exception group
                problems.append(str(error))
        if auth in ("none", "wrong") and case.operation.label not in PUBLIC and response.status_code < 400:
            problems.append(f"served without a valid key ({auth}): {response.status_code}\n\n{case.as_curl_command()}")
        if len(self.served.tracebacks) > tracebacks_before:
            problems.append("server traceback:\n" + self.served.tracebacks[-1])
        for problem in problems:
            tally.failure_count += 1
            title = next((line.strip() for line in problem.splitlines() if line.strip().startswith("- ")), "")
            tally.failures.setdefault(title or problem.splitlines()[0], problem)

    def coverage(self, tallies: dict[str, OperationTally]) -> int:
        """Schemathesis' coverage phase: boundary and just-invalid values of every parameter and body field, and
        methods the operation does not have; each case sent once with a valid key. Returns the requests sent."""
        sent = 0
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for operation in self.operations():
            tally = tallies.setdefault(operation.label, OperationTally())
            config = self.schema.config.generation_for(operation=operation)
            for case in self.schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config):
                self.send(case, "key", tally)
                sent += 1
        return sent

    def stateful(self, tallies: dict[str, OperationTally], scenarios: int) -> int:
        """Schemathesis' stateful phase: sequences following the links it infers from the schema (a session opened,
        then its turns pushed, closed or discarded; an audit stored, then fetched and given verdicts). Returns the
        requests sent."""
        fuzzer = self
        sent = 0

        class Workflow(self.schema.as_state_machine()):  # type: ignore[misc]
            tracebacks_before = 0

            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                self.tracebacks_before = len(fuzzer.served.tracebacks)
                return {"session": fuzzer.client, "headers": AUTH_HEADERS["key"]}

            def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
                nonlocal sent
                sent += 1
                tally = tallies.setdefault(case.operation.label, OperationTally())
                fuzzer.check(case, response, "key", tally, self.tracebacks_before)

        options = settings(
            max_examples=scenarios,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        Workflow.run(settings=options)
        return sent

    def _use_real_names(self, case: Any, data: st.DataObject) -> None:
        """Mostly (3 times in 4) name a real SOP, live session, stored audit or step, so the request reaches the
        handler; the generated name otherwise."""

        def real(label: str) -> bool:
            return data.draw(st.integers(0, 3), label=label) > 0

        path = case.path_parameters if isinstance(case.path_parameters, dict) else None
        query = case.query if isinstance(case.query, dict) else None
        if path is not None and "sop_id" in path and real("real sop_id"):
            path["sop_id"] = data.draw(st.sampled_from(self.sop_ids))
        if query is not None and "sop" in query and real("real sop"):
            query["sop"] = data.draw(st.sampled_from(self.sop_ids))
        if path is not None and "audit_id" in path and real("real audit_id"):
            path["audit_id"] = data.draw(st.sampled_from(self.audit_ids))
        if path is not None and "session_id" in path and real("real session_id"):
            path["session_id"] = self.open_session(data.draw(st.integers(0, 2), label="turns pushed"))
        body = case.body if isinstance(case.body, dict) else None
        if body is not None and "sop_id" in body and real("real body sop_id"):
            body["sop_id"] = data.draw(st.sampled_from(self.sop_ids))
        turns = body.get("turns") if body is not None else None
        if isinstance(turns, list) and real("real speakers"):  # a made-up label is refused (never a silent event)
            for turn in turns:
                if isinstance(turn, dict) and "speaker" in turn:
                    turn["speaker"] = data.draw(st.sampled_from(["agent", "customer"]), label="speaker")
        verdicts = body.get("verdicts") if body is not None else None
        if isinstance(verdicts, list) and real("real step ids"):
            del verdicts[len(STEP_IDS) :]  # one verdict per step, each naming a different step of the SOP
            for verdict, step_id in zip(verdicts, data.draw(st.permutations(STEP_IDS)), strict=False):
                if isinstance(verdict, dict) and "step_id" in verdict:
                    verdict["step_id"] = step_id

    def open_session(self, turns: int) -> str:
        headers = {"X-API-Key": KEY}
        opened = self.client.post("/v1/sessions", json={"sop_id": "card-check"}, headers=headers).json()
        for turn in CALL[:turns]:
            self.client.post(f"/v1/sessions/{opened['session_id']}/turns", json=turn, headers=headers)
        return str(opened["session_id"])


def status_summary(statuses: Counter[int]) -> str:
    return ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items()))
