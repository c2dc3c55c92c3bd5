"""The SOPs this service audits against, and validation of an SOP sent in the body (JSON or YAML)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request

from auditor.api.dependencies import ServiceDep, require_key
from auditor.api.errors import ApiError
from auditor.api.schemas import SopProblemOut, SopSummary, SopValidation, error_responses
from auditor.sop.loading import SopError, sop_from_mapping
from auditor.sop_format import Sop
from auditor.transcripts.records import value_problems

router = APIRouter(
    prefix="/v1/sops", tags=["sops"], dependencies=[Depends(require_key)], responses=error_responses(401, 429, 503)
)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: a request cannot expand into a "billion laughs" document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted in a request", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)


YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}


@router.get("", response_model=list[SopSummary], summary="List the SOPs")
async def list_sops(service: ServiceDep) -> list[SopSummary]:
    return [
        SopSummary(
            id=sop.id,
            name=sop.name,
            version=sop.version,
            languages=sop.languages,
            description=sop.description,
            steps=[step.id for step in sop.steps],
        )
        for sop in sorted(service.sops.values(), key=lambda s: s.id)
    ]


@router.get("/{sop_id}", response_model=Sop, summary="Fetch one SOP", responses=error_responses(404, 422))
async def get_sop(sop_id: str, service: ServiceDep) -> Sop:
    return service.sop(sop_id)  # an unknown SOP is a 404 (errors.py)


@router.post(
    "/validate",
    response_model=SopValidation,
    summary="Validate an SOP (JSON or YAML body)",
    responses=error_responses(400, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def validate_sop(request: Request) -> SopValidation:
    """Every problem at once, each naming the step and field, as `auditor check-sop` reports them.

    The same checks as the command line, the new step fields included: a counter-example that repeats one of
    its step's examples or keywords, `before` / position / `when` rules on a `forbidden: true` step, and a
    `before` naming a forbidden step are errors.
    """
    body = await request.body()
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if media_type in YAML_TYPES:
            raw: Any = yaml.load(body.decode("utf-8"), Loader=_NoAliasLoader)
        elif media_type == "application/json":
            raw = json.loads(body)
        else:
            raise ApiError(
                415, "unsupported_media_type", f"send the SOP as application/json or application/yaml, not {media_type}"
            )
    except RecursionError as error:
        raise ApiError(400, "unreadable_sop", f"the body is not valid {media_type}: nested too deeply") from error
    except (ValueError, yaml.YAMLError, KeyError, AttributeError, IndexError, TypeError, OverflowError) as error:
        # besides syntax errors, PyYAML's constructors raise these for values a tag cannot build (!!int x)
        raise ApiError(400, "unreadable_sop", f"the body is not valid {media_type}: {error}") from error
    if not isinstance(raw, dict):
        raise ApiError(422, "invalid_sop", "an SOP must be a mapping (object) with id, name and steps")
    unreadable = list(value_problems(raw))
    if unreadable:  # text that is not valid Unicode, or nesting no SOP has: nothing downstream should see it
        raise ApiError(422, "invalid_sop", "; ".join(unreadable[:5]))
    try:
        sop = sop_from_mapping(raw, source="<request>")
    except SopError as error:
        problems = [
            SopProblemOut(code=p.code, message=p.message, step_id=p.step_id, field=p.field, severity=p.severity)
            for p in error.problems
        ]
        return SopValidation(
            valid=False, sop_id=raw.get("id") if isinstance(raw.get("id"), str) else None, problems=problems
        )
    return SopValidation(valid=True, sop_id=sop.id, steps=len(sop.steps), problems=[])
