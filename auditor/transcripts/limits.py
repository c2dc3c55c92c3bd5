"""How much text one conversation may hold in a batch audit (``auditor audit --max-turn-chars`` and friends).

The HTTP API caps a turn at 10,000 characters and a conversation at 2,000 turns (``auditor/api/settings.py``);
a batch user may have
a two-hour call (about 100,000 characters), a call transcribed without speaker turns (all of it one turn), or a
chat log of thousands of turns. Every turn up to the cap is audited whole: a turn too long to embed as one
text is embedded in pieces (``auditor.text.artifacts``) and its evidence is still the whole turn, never a cut. Beyond
the caps a conversation is refused, named ``path:line: reason`` with the field and the option that raises the cap,
so a runaway input (a whole file pasted in one field) costs neither the run's memory nor the good conversations.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.conversation import Conversation
from auditor.transcripts.records import shown_id

MAX_TURN_CHARS = 1_000_000
"""About 18 hours of speech in one turn; a 1,000,000-character turn audits in bounded memory (docs/benchmarks.md,
long-conversations)."""
MAX_CONVERSATION_CHARS = 5_000_000
MAX_TURNS = 100_000


@dataclass(frozen=True)
class SizeLimits:
    """The most text a conversation may hold to be audited; ``None`` for a limit means no limit."""

    max_turn_chars: int | None = MAX_TURN_CHARS
    max_conversation_chars: int | None = MAX_CONVERSATION_CHARS
    max_turns: int | None = MAX_TURNS

    def problem(self, conversation: Conversation) -> str | None:
        """Why ``conversation`` is too large to audit (naming the field and the option), or None."""
        skipped = f"conversation {shown_id(conversation.id)} not audited"
        turns = conversation.turns
        if self.max_turns is not None and len(turns) > self.max_turns:
            return f"turns: {len(turns):,} turns, more than the {self.max_turns:,} allowed (--max-turns); {skipped}"
        total = 0
        for turn in turns:
            length = len(turn.text)
            if self.max_turn_chars is not None and length > self.max_turn_chars:
                return (
                    f"turns[{turn.index}].text: {length:,} characters, more than the {self.max_turn_chars:,} a turn "
                    f"may hold (--max-turn-chars); {skipped}"
                )
            total += length
        if self.max_conversation_chars is not None and total > self.max_conversation_chars:
            return (
                f"turns: {total:,} characters of text, more than the {self.max_conversation_chars:,} a conversation "
                f"may hold (--max-conversation-chars); {skipped}"
            )
        return None
