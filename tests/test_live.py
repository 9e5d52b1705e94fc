"""What live readers rely on: cheap change detection and incremental reads."""

from __future__ import annotations

from mltop.store import ChangeCursor, MltopClient, Store


def test_has_changed_sees_commits_from_another_connection(store_path):
    reader = Store(store_path)
    writer = MltopClient(Store(store_path))
    reader.has_changed()
    assert not reader.has_changed()
    # SCHEDULED: no heartbeat thread commits behind the test's back.
    run_id = writer.create_run(status="SCHEDULED").info.run_id
    assert reader.has_changed()
    assert not reader.has_changed()
    writer.log_metric(run_id, "loss", 1.0)
    writer.flush()
    assert reader.has_changed()
    writer.close()


def test_changes_since_cursor_returns_changed_runs_and_new_points(store_path):
    reader = Store(store_path)
    client = MltopClient(Store(store_path))
    a = client.create_run(run_name="a").info.run_id
    b = client.create_run(run_name="b").info.run_id
    cursor = reader.cursor()
    assert reader.changes_since(cursor).run_ids == []

    client.log_metric(a, "loss", 0.5, step=1)
    client.log_metric(a, "loss", 0.4, step=2)
    client.flush()
    client.set_tag(b, "note", "x")
    changes = reader.changes_since(cursor)
    assert sorted(changes.run_ids) == sorted([a, b])
    assert [(m.run_id, m.key, m.step, m.value) for m in changes.metrics] == [
        (a, "loss", 1, 0.5),
        (a, "loss", 2, 0.4),
    ]
    assert not changes.more

    again = reader.changes_since(changes.cursor)
    assert again.run_ids == [] and again.metrics == []
    client.close()


def test_changes_are_paged_with_more(store_path):
    store = Store(store_path)
    client = MltopClient(store)
    run = client.create_run().info.run_id
    start = store.cursor()
    for step in range(25):
        client.log_metric(run, "v", float(step), step=step)
    client.flush()
    seen, cursor = [], start
    while True:
        page = store.changes_since(cursor, metric_limit=10)
        seen += [m.step for m in page.metrics]
        cursor = page.cursor
        if not page.more:
            break
    assert seen == list(range(25))
    client.close()


def test_experiment_changes_are_reported(store):
    cursor = store.cursor()
    exp = store.create_experiment("new")
    assert store.changes_since(cursor).experiment_ids == [exp]
    assert store.changes_since(ChangeCursor()).experiment_ids[-1] == exp
