"""The wrk task-list bench's own logic (bench/http_tasks.py): reading wrk's output, what it says
when wrk or the peer is missing, the ratios. No server, no wrk, no timing."""

from pathlib import Path
from typing import Any

import pytest

from bench import http_tasks
from bench.http_tasks import (
    PEER_NO_POSTGRES,
    WRK_MISSING,
    parse_wrk,
    peer_dir,
    preflight,
    ratios,
    wrk_command,
)

WRK_TEXT = """\
Running 3s test @ http://127.0.0.1:40123/api/v1/projects/1/tasks/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    41.13ms   12.02ms 118.40ms   71.35%
    Req/Sec   195.36     31.40   262.00     70.00%
  Latency Distribution
     50%   39.87ms
     75%   47.10ms
     90%  955.00us
     99%    1.20s
  1172 requests in 3.01s, 4.26MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:    389.37
Transfer/sec:      1.42MB
"""

WRK_JSON_LINE = (
    'WRK_JSON {"requests": 1172, "duration_us": 3010000, "bytes": 4466000, "p50_us": 39870, '
    '"p90_us": 55000, "p99_us": 88120, "max_us": 118400, "mean_us": 41130, '
    '"errors_connect": 0, "errors_read": 0, "errors_write": 0, "errors_status": 0, '
    '"errors_timeout": 0}'
)


def test_parse_wrk_reads_the_lua_report_line() -> None:
    result = parse_wrk(WRK_TEXT.replace("Requests/sec:    389.37", "") + WRK_JSON_LINE + "\n")

    assert result["requests"] == 1172
    assert result["seconds"] == pytest.approx(3.01)
    assert result["requests_per_s"] == pytest.approx(1172 / 3.01)
    assert result["p50_ms"] == pytest.approx(39.87)
    assert result["p90_ms"] == pytest.approx(55.0)
    assert result["p99_ms"] == pytest.approx(88.12)
    assert result["max_ms"] == pytest.approx(118.4)
    assert result["non_2xx"] == 0
    assert result["socket_errors"] == 0


def test_parse_wrk_prefers_the_lua_line_over_the_text() -> None:
    result = parse_wrk(WRK_TEXT + WRK_JSON_LINE)

    assert result["requests_per_s"] == pytest.approx(1172 / 3.01)
    assert result["non_2xx"] == 0


def test_parse_wrk_falls_back_to_the_latency_text_in_every_unit() -> None:
    result = parse_wrk(WRK_TEXT)

    assert result["requests_per_s"] == pytest.approx(389.37)
    assert result["requests"] == 1172
    assert result["seconds"] == pytest.approx(3.01)
    assert result["p50_ms"] == pytest.approx(39.87)
    assert result["p90_ms"] == pytest.approx(0.955)
    assert result["p99_ms"] == pytest.approx(1200.0)
    assert result["non_2xx"] == 5
    assert result["socket_errors"] == 3


def test_parse_wrk_refuses_what_is_not_wrk_output() -> None:
    with pytest.raises(ValueError, match="not wrk output"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_command_is_two_threads_sixteen_connections_on_loopback() -> None:
    command = wrk_command(
        "wrk", "http://127.0.0.1:5000/tasks/", {"Host": "anchor.localhost", "X": "y"}, 3
    )

    assert command[:5] == ["wrk", "-t2", "-c16", "-d3s", "--latency"]
    assert command[command.index("-s") + 1].endswith("wrk_report.lua")
    assert Path(command[command.index("-s") + 1]).is_file()
    assert ["-H", "Host: anchor.localhost"] == command[command.index("-H") :][:2]
    assert command[-1] == "http://127.0.0.1:5000/tasks/"


def test_without_wrk_the_http_figures_are_skipped_with_how_to_install_it(tmp_path: Path) -> None:
    plan = preflight(None, tmp_path, lambda: True)

    assert not plan.http
    assert not plan.peer
    assert plan.notes == [WRK_MISSING]
    assert "apt-get install wrk" in WRK_MISSING
    assert "skipped" in WRK_MISSING


def test_without_the_peer_only_our_targets_are_measured() -> None:
    absent = http_tasks.REPO.parent / "no-such-shared" / "stock-django-tenants"

    plan = preflight("/usr/bin/wrk", absent, lambda: True)

    assert plan.http
    assert not plan.peer
    [note] = plan.notes
    assert "peer is absent" in note
    assert "only our own" in note
    # Shown relative to the repository, never as the machine's absolute path.
    assert "(../no-such-shared/stock-django-tenants not found" in note
    assert str(http_tasks.REPO) not in note


def test_peer_present_but_no_postgres_for_it(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "setup_anchor.py").write_text("")

    plan = preflight("/usr/bin/wrk", tmp_path, lambda: False)

    assert plan.http
    assert not plan.peer
    assert plan.notes == [PEER_NO_POSTGRES]


def test_peer_present_is_measured(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "setup_anchor.py").write_text("")

    plan = preflight("/usr/bin/wrk", tmp_path, lambda: True)

    assert (plan.http, plan.peer, plan.notes) == (True, True, [])


def test_the_peer_is_found_relative_to_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_PEER_DIR", raising=False)

    assert not Path(http_tasks.PEER_RELATIVE).is_absolute()
    assert peer_dir() == (http_tasks.REPO.parent / "shared/peers/stock-django-tenants").resolve()


def test_ratios_are_ours_over_each_other_target() -> None:
    summaries: dict[str, dict[str, Any]] = {
        "ours": {"requests_per_s": 300.0, "p99_ms": 20.0, "rounds_requests_per_s": [300, 150]},
        "single": {"requests_per_s": 300.0, "p99_ms": 19.0, "rounds_requests_per_s": [200, 300]},
        "stock": {"requests_per_s": 200.0, "p99_ms": 25.0},
        "plain": {"requests_per_s": 400.0, "p99_ms": 15.0},
    }

    figure = ratios(summaries)

    assert figure["ours_to_stock"] == 1.5
    assert figure["ours_to_stock_met"] is True
    assert figure["ours_to_plain"] == 0.75
    assert figure["ours_to_plain_met"] is False
    assert figure["ours_to_single"] == 1.0
    assert figure["ours_to_single_per_round"] == [1.5, 0.5]
    assert figure["p99_no_worse_than_stock"] is True


def test_ratios_without_the_peer_compare_ours_with_single_only() -> None:
    figure = ratios(
        {"ours": {"requests_per_s": 90.0, "p99_ms": 1}, "single": {"requests_per_s": 100.0}}
    )

    assert figure == {"bench": "task_list_http_ratios", "ours_to_single": 0.9}
