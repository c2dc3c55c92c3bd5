"""The team: who may sign in to the review pages, in which role, and what each role may see and do.

A people file (``AUDITOR_PEOPLE_FILE``, YAML) lists the team::

    people:
      - name: Mei Chen
        role: coach            # coach | agent | qa_lead
        key: sha256:9f86d0...  # optional: this person's own sign-in key (hash made by `auditor api-key`)
      - name: Ana Ruiz
        role: agent
        agent_id: a-7          # the agent id the conversations carry
        key: sha256:2c26b4...

A person with a ``key`` signs in with that key and no other; a person without one signs in with one of the service's
API keys (a shared team key). Names are matched ignoring case and repeated spaces. Without a people file everyone
who signs in is a coach (the behaviour before roles existed).

- **agent**: sees only the audits of their own agent id, and answers each reviewed step: acknowledges it or disputes
  it with a comment. Records no verdicts.
- **coach**: reviews every conversation, and resolves disputes (upholds or overturns) of other coaches' verdicts,
  never of their own.
- **qa_lead**: everything a coach does, and resolves any dispute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Role = Literal["coach", "agent", "qa_lead"]
ROLES: tuple[Role, ...] = ("coach", "agent", "qa_lead")


@dataclass(frozen=True)
class Person:
    """Someone acting on reviews: a coach, an agent (with the agent id their conversations carry) or a QA lead."""

    name: str
    role: Role = "coach"
    agent_id: str | None = None
    key_hash: str | None = None
    """Hex SHA-256 of this person's own sign-in key; None: they sign in with a service API key."""

    @property
    def reviews(self) -> bool:
        """Whether this person reviews conversations (records verdicts, resolves disputes)."""
        return self.role in {"coach", "qa_lead"}

    def may_see(self, agent_id: str | None) -> bool:
        """Whether this person may see an audit of the conversation of ``agent_id``: an agent only their own."""
        if self.role == "agent":
            return self.agent_id is not None and agent_id == self.agent_id
        return True


class PeopleFileError(ValueError):
    """A people file that cannot be used; the message names the file and the entry."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    agent_id: str | None = Field(None, min_length=1, max_length=200)
    key: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = canonical(value)
        if not name:
            raise ValueError("give the person's name")
        return name

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.strip().lower().removeprefix("sha256:")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("not a key hash: expected 'sha256:' and 64 hex digits (made by `auditor api-key`)")
        return digest

    @model_validator(mode="after")
    def _agent_has_id(self) -> _Entry:
        if self.role == "agent" and not self.agent_id:
            raise ValueError("an agent needs the agent_id their conversations carry")
        return self


def canonical(name: str) -> str:
    """A name as it is stored and compared: surrounding and repeated spaces dropped."""
    return " ".join(name.split())


@dataclass(frozen=True)
class People:
    """The team, by name (matched ignoring case)."""

    people: Mapping[str, Person] = field(default_factory=dict)

    @classmethod
    def of(cls, *people: Person) -> People:
        return cls({canonical(person.name).casefold(): person for person in people})

    def find(self, name: str) -> Person | None:
        return self.people.get(canonical(name).casefold())

    def __len__(self) -> int:
        return len(self.people)


def load_people(path: Path) -> People:
    """The people file read and checked: every problem names the entry (``people[2].agent_id: ...``)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PeopleFileError(f"{path}: cannot read the people file: {error}") from None
    entries = raw.get("people") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise PeopleFileError(f"{path}: expected 'people:' and a list of entries (name, role, agent_id, key)")
    found: dict[str, Person] = {}
    for number, item in enumerate(entries):
        try:
            entry = _Entry.model_validate(item)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            where = f".{where}" if where else ""
            raise PeopleFileError(f"{path}: people[{number}]{where}: {first.get('msg', 'invalid')}") from None
        key = entry.name.casefold()
        if key in found:
            raise PeopleFileError(f"{path}: people[{number}].name: {entry.name!r} is listed twice")
        found[key] = Person(entry.name, entry.role, entry.agent_id, entry.key)
    return People(found)
