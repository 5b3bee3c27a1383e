"""Real tools: libraries of callable functions (Python, OpenAPI, MCP) that ground and execute a run."""

from toolsynth.tools.contract import ToolOutcome, ToolSession, ToolSource, ToolSourceError

__all__ = ["ToolOutcome", "ToolSession", "ToolSource", "ToolSourceError"]
