"""A ratio against a baseline that ran far below its usual rate is not a result: the benchmark
measures the pair again, and a baseline that stays low is reported as such, never as met."""

from __future__ import annotations

import pytest

from bench.report import FAR_BELOW, Outcome, table, until_baselines_are_usual
from bench.usual import REFERENCE, usual_rate


def _throughput(outcome: Outcome, baseline: float, usual: float | None) -> None:
    outcome.add(
        "POST /clients throughput",
        800.0,
        "req/s",
        baseline=baseline,
        baseline_name="bare",
        target="≥ 0.5x bare",
        check=lambda f: (f.ratio or 0) >= 0.5,
        usual_baseline=usual,
    )


def test_a_baseline_far_below_its_usual_rate_gives_no_verdict() -> None:
    outcome = Outcome("API throughput")
    _throughput(outcome, baseline=500.0, usual=1_600.0)  # 1.6x "met" against a starved baseline
    [figure] = outcome.figures
    assert figure.baseline_far_below_usual
    assert figure.met is None
    row = table([outcome]).splitlines()[-1]
    assert "not a result: baseline far below its usual 1,600 req/s" in row
    assert "| yes |" not in row


def test_a_baseline_at_its_usual_rate_is_judged() -> None:
    outcome = Outcome("API throughput")
    _throughput(outcome, baseline=1_700.0, usual=1_600.0)
    _throughput(outcome, baseline=1_500.0, usual=None)  # not judged: small runs
    assert [figure.met for figure in outcome.figures] == [False, True]
    assert table([outcome]).count("not a result") == 0


def test_a_low_baseline_is_measured_again_and_noted() -> None:
    rates = iter([300.0, 1_650.0])
    calls: list[float] = []

    def side_by_side() -> tuple[float, dict[str, float]]:
        rate = next(rates)
        calls.append(rate)
        return rate, {"bare POST /clients": rate}

    notes: list[str] = []
    result = until_baselines_are_usual(side_by_side, notes, judge=True)
    assert result == 1_650.0 and calls == [300.0, 1_650.0]
    assert len(notes) == 1 and "ran at 300/s" in notes[0] and "measured again" in notes[0]


def test_a_baseline_that_stays_low_is_measured_three_times_then_left_to_its_figure() -> None:
    runs: list[int] = []

    def side_by_side() -> tuple[int, dict[str, float]]:
        runs.append(len(runs))
        return len(runs), {"kombu confirm each": REFERENCE["kombu confirm each"] * FAR_BELOW / 2}

    notes: list[str] = []
    assert until_baselines_are_usual(side_by_side, notes, judge=True) == 3
    assert len(runs) == 3 and "still so after 3 runs" in notes[-1]


def test_small_runs_measure_once_whatever_the_baseline() -> None:
    runs: list[int] = []

    def side_by_side() -> tuple[int, dict[str, float]]:
        runs.append(1)
        return 1, {"bare GET caseload": 1.0}

    notes: list[str] = []
    until_baselines_are_usual(side_by_side, notes, judge=False)
    assert runs == [1] and notes == []


def test_usual_rates_of_another_machine_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert usual_rate("bare POST /clients") == REFERENCE["bare POST /clients"]
    monkeypatch.setenv(
        "CASEHUB_BENCH_USUAL_RATES", '{"bare POST /clients": 2400, "bare GET caseload": 0}'
    )
    assert usual_rate("bare POST /clients") == 2_400
    assert usual_rate("bare GET caseload") is None  # 0: not judged
    assert usual_rate("kombu confirm each") == REFERENCE["kombu confirm each"]


def test_a_rate_that_counted_failed_requests_gives_no_verdict() -> None:
    """Refused requests (a duplicate registration's 409) cost less than the work measured: a
    rate that counted them would flatter us, so any failure makes the figure no result."""
    outcome = Outcome("API throughput")
    outcome.add(
        "POST /clients throughput",
        900.0,
        "req/s",
        baseline=1_200.0,
        baseline_name="bare",
        target="≥ 0.5x bare",
        check=lambda f: (f.ratio or 0) >= 0.5,
        failed=3_940,
    )
    [figure] = outcome.figures
    assert figure.met is None
    row = table([outcome]).splitlines()[-1]
    assert "not a result: 3,940 requests failed" in row and "| yes |" not in row


def test_each_load_run_sends_its_own_requests() -> None:
    """A measured run after its warm-up must not register the warm-up's people again (their
    409s were counted as registrations): two runs against one server, no body sent twice."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.api import new_client
    from bench.load import run_load

    bodies: list[list[str]] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies[-1].append(json.dumps(json.loads(body), sort_keys=True))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for _ in range(2):
            bodies.append([])
            result = run_load(url, new_client, seconds=0.3, clients=2)
            assert result.errors == 0 and result.requests == len(bodies[-1]) > 0
    finally:
        server.shutdown()
    warm_up, measured = (set(run) for run in bodies)
    assert len(warm_up) == len(bodies[0]) and not warm_up & measured
