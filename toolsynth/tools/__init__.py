"""Real tools: libraries of callable functions (Python, OpenAPI, MCP) that ground and execute a run."""

from toolsynth.tools.contract import ToolOutcome, ToolSession, ToolSource, ToolSourceError
from toolsynth.tools.loading import LibrarySession, ToolLibrary, load_tool_source

__all__ = [
    "LibrarySession",
    "ToolLibrary",
    "ToolOutcome",
    "ToolSession",
    "ToolSource",
    "ToolSourceError",
    "load_tool_source",
]
