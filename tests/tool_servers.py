"""Test helpers: the example tool servers (examples/tools/), started on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import ROOT

EXAMPLES = ROOT / "examples" / "tools"
HOTELS_SPEC = EXAMPLES / "hotels_api.yaml"
HOTELS_SERVER = EXAMPLES / "hotels_server.py"
WEATHER_MCP_SERVER = EXAMPLES / "weather_mcp_server.py"


@contextmanager
def hotels_server() -> Iterator[str]:
    """Run examples/tools/hotels_server.py on a free port; yields its base URL and stops it afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(HOTELS_SERVER), "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            process.kill()
            raise RuntimeError(f"the hotels server did not start: {line!r} {process.communicate()[1]}")
        yield line.removeprefix("listening on ").strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
