"""A short cluster soak (bench/cluster_soak.py): nginx in front of two replicas over one PostgreSQL, six simulated
participants spread over both and a presenter in headless chromium, all through nginx. The presenter starts a short
policy update on page 9; it runs on the presenter's replica only, and every participant, on both replicas, sees it
running and then finished with its result. Then one replica that holds participants but not the presenter is killed
with SIGKILL mid-question. Its participants reconnect through nginx, keep their seat and points, and their answers
are stored; the question is revealed; nothing goes wrong in the surviving replica's log.

The labeling round stays off here: it adds about 50 s on a 2-core machine (sampling three completions, the
participants' reading time); `python -m bench.cluster_soak` runs it."""
from __future__ import annotations

import asyncio
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.model]


def test_a_replica_dies_mid_question_and_its_participants_carry_on(chromium_path):
    from deploy import postgres
    from deploy.local_cluster import INSTALL_HINT, nginx_bin

    missing = [name for name, found in (("nginx", nginx_bin()), ("initdb", postgres.pg_bin("initdb")),
                                        ("pg_ctl", postgres.pg_bin("pg_ctl"))) if not found]
    if missing:
        pytest.skip(f"the cluster needs {', '.join(missing)}: {INSTALL_HINT} (`make test` as root installs them)")
    from bench.cluster_soak import run

    n = 6
    args = Namespace(replicas=2, participants=n, lessons=2, questions=1, labeling=False, training=True,
                     sample_every=10.0, balance=True)
    with ThreadPoolExecutor(1) as pool:      # a loop of its own: other browser tests' Playwright holds this thread's
        report = pool.submit(asyncio.run, run(args)).result()

    assert report["joined"] == n, report["join_failures"]
    assert all(report["participants_per_replica"].values()), report["participants_per_replica"]
    pages = args.lessons + 1                  # the lessons walked, and page 9 for the training run
    assert report["follow_me_s_all"]["n"] == n * pages, report["follow_me_s_per_replica"]
    assert not report["acknowledged_answers_lost"], report["acknowledged_answers_lost"]
    for seq, q in report["questions"].items():
        assert q["answered"] == q["acknowledged"] == q["stored"] == n, (seq, q)
    run = report["training_watch"]
    assert run["states"] == ["done"], run                            # one run, published, finished
    assert run["executed_on"] == [report["presenter_on"]], run       # on the presenter's replica only
    assert set(run["per_replica"]) == set(report["participants_per_replica"]), run
    for replica, seen in run["per_replica"].items():                # both replicas: everyone followed it
        held = report["participants_per_replica"][replica]
        assert seen["participants"] == held > 0, (replica, seen)
        assert seen["saw_it_running"] == seen["saw_it_finished (done)"] == seen["saw_its_result"] == held, \
            (replica, seen)
        assert seen["saw_it_failed_or_cancelled"] == 0, (replica, seen)
    kill = report["kill"]
    assert kill["question_picked"], kill                            # the question the bench named, not a default
    held = kill["participants_on_it"]
    assert held > 0, kill
    assert kill["reconnected"] == held, kill
    assert kill["seats_kept (same participant row)"] == held, kill
    assert kill["rows_before_after"][0] == kill["rows_before_after"][1] == n, kill
    assert kill["victims_answers_stored"] == kill["victims_acknowledged"] == held, kill
    assert kill["points_kept"] == kill["points_shown_match_store"] == held, kill
    assert kill["revealed"], kill
    assert not report["server_log_errors (surviving replicas)"], report["server_log_errors (surviving replicas)"]
    assert not report["client_errors"], report["client_errors"]
