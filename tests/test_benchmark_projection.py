"""The 1,000,000-sample projection's arithmetic (benchmarks/projection.py)."""

from __future__ import annotations

import pytest

from benchmarks.projection import main, project


def test_the_tighter_limit_sets_the_rate_and_the_cpu_sets_the_processes() -> None:
    by_tokens = project(
        1_000_000, 10, 1_000, 5.0, rpm=6_000, tpm=3_000_000, latency_s=2.0, core_use=0.5, cores_per_machine=4
    )
    assert by_tokens.bound_by == "tokens" and by_tokens.calls_per_second == pytest.approx(50)
    assert by_tokens.calls == 10_000_000 and by_tokens.tokens == 10_000_000_000
    assert by_tokens.wall_hours == pytest.approx(10_000_000 / 50 / 3600)
    assert by_tokens.in_flight == pytest.approx(100) and by_tokens.processes == 1

    by_requests = project(
        1_000_000, 10, 100, 5.0, rpm=60_000, tpm=10**12, latency_s=1.0, core_use=0.5, cores_per_machine=4
    )
    assert by_requests.bound_by == "requests" and by_requests.calls_per_second == pytest.approx(1_000)
    assert by_requests.processes == 10  # 1,000 calls/s x 5 ms = 5 cores, at half a core each
    assert by_requests.machines == 3
    assert by_requests.cpu_hours == pytest.approx(10_000_000 * 0.005 / 3600)


def test_the_command_prints_one_row_per_tier(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tier", "500:200,000", "--tier", "30000:150000000"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 5") or line.startswith("| 3")]
    assert len(rows) == 2 and "(tokens)" in rows[0] and "(requests)" in rows[1]
