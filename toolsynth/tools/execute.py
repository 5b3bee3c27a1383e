"""Running a conversation's calls for real, once: each outcome is checkpointed in the run's step memo.

The tool role of a conversation over a tool library asks `CallExecutor.call` for each call of a library function.
Under a runner the outcome is stored under the call's step key as soon as the call returns, and a resumed run
reads it back instead of calling again, so a finished call's side effects happen once. (A run killed while a
call is in flight runs that call again: it never finished.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from toolsynth.execution import current_memo, current_meter
from toolsynth.tools.contract import ToolOutcome
from toolsynth.tools.loading import LibrarySession, ToolLibrary
from toolsynth.types import ToolCall

EXECUTED_NOTE = "tool_calls_executed"
REPLAYED_NOTE = "tool_calls_replayed"
"""What the run's meter counts: calls run for real, and calls read back from the memo on a resume."""


class CallExecutor:
    """One conversation's real calls: its library session, the timeout, and each call's outcome by call id."""

    def __init__(self, library: ToolLibrary, session: LibrarySession, timeout: float) -> None:
        self.library = library
        self.session = session
        self.timeout = timeout
        self.outcomes: dict[str, tuple[str, ToolOutcome]] = {}

    def implements(self, name: str) -> bool:
        return name in self.library

    async def call(self, key: str, call: ToolCall) -> ToolOutcome:
        """The call's outcome: stored under `key` by an earlier run, else run now and stored."""
        memo, meter = current_memo(), current_meter()
        stored = memo.get(key) if memo is not None else None
        if isinstance(stored, dict) and isinstance(stored.get("outcome"), dict):
            outcome = ToolOutcome(**stored["outcome"])
            note = REPLAYED_NOTE
        else:
            outcome = await self.session.call(call.name, call.arguments, self.timeout)
            if memo is not None:
                memo.put(key, {"outcome": dataclasses.asdict(outcome)})
            note = EXECUTED_NOTE
        if meter is not None:
            meter.note(note)
        self.outcomes[call.id] = (call.name, outcome)
        return outcome

    def report(self, call_ids: list[str]) -> list[dict[str, Any]]:
        """`meta.execution`: each executed call's id, function, and whether it succeeded (with its error code), in
        the order of `call_ids` (the conversation's)."""
        out = []
        for call_id in call_ids:
            if call_id in self.outcomes:
                name, o = self.outcomes[call_id]
                out.append({"call_id": call_id, "name": name, "ok": o.ok, **({} if o.ok else {"error": o.error})})
        return out
