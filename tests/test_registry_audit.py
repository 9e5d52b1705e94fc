"""The registry's audit log keeps renames and deletions: who, when, which names; a model's
history follows it through a rename, outlives its deletion, and stays apart from a model
made again under its name. Through the store, the command line, the dashboard and
MLflow's own client."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from test_dashboard import NOW, settle, sync
from test_plugin_registry import _version, mlf, new_run, ours  # noqa: F401
from textual.widgets import DataTable

from mltop.store import MltopClient, NotFoundError
from mltop.store.system import current_user
from mltop.tui.app import MltopApp
from mltop.tui.cli import main
from mltop.tui.present import history_row
from mltop.tui.screens.registry import RegistryScreen

pytestmark = pytest.mark.filterwarnings("ignore:.*registry stages:FutureWarning")


@pytest.fixture
def reg(client):
    return client.store.registry


@pytest.fixture
def run(client: MltopClient) -> str:
    run_id = client.create_run(run_name="r", log_system_info=False).info.run_id
    client.log_metric(run_id, "acc", 0.9)
    client.flush()
    return run_id


def src(run_id: str) -> str:
    return f"runs:/{run_id}/model"


def rows(log) -> list[tuple]:
    return [(r.kind, r.name, r.version, r.from_stage, r.to_stage, r.alias, r.user_id) for r in log]


def cli(store_path, *args: str) -> str:
    # Wide enough that no change or comment wraps.
    out = CliRunner().invoke(main, [*args, "--store", str(store_path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    return out.output


def change_of(record) -> str:
    return str(history_row(record)[3])


# -- the store ---------------------------------------------------------------------------


def test_a_rename_is_logged_and_the_history_follows_the_model(reg, run):
    reg.create_model_version("enet", src(run))
    reg.transition("enet", 1, "Staging", user="alice")
    reg.rename_registered_model("enet", "enet2", user="bob")
    log = reg.history("enet2")
    assert rows(log) == [
        ("transition", "enet", 1, "None", "Staging", None, "alice"),
        ("rename", "enet", 0, None, None, None, "bob"),
    ]
    assert log[1].time >= log[0].time > 0
    assert change_of(log[1]) == "renamed from enet"
    assert str(history_row(log[1])[2]) == ""  # a row about the model, not a version
    # Under the old name: the same model's log (no model is called enet now).
    assert reg.history("enet") == log
    [former] = reg.model_logs("enet")
    assert (former.name, former.deleted, list(former.records)) == ("enet2", False, log)
    # Moves after the rename carry the new name; the user defaults to the OS user.
    reg.rename_registered_model("enet2", "enet3")
    reg.transition("enet3", 1, "Archived")
    assert rows(reg.history("enet3"))[2:] == [
        ("rename", "enet2", 0, None, None, None, "tester"),
        ("transition", "enet3", 1, "Staging", "Archived", None, "tester"),
    ]
    assert [change_of(r) for r in reg.history("enet3", 1)] == [
        "None → Staging",
        "Staging → Archived",
    ]


def test_deleting_a_version_logs_the_stage_it_was_in_and_its_aliases(reg, run):
    reg.create_model_version("svc", src(run))
    reg.create_model_version("svc", src(run))
    reg.transition("svc", 1, "Production", "ship it", user="alice")
    reg.set_alias("svc", "champion", 1, user="alice")
    reg.delete_model_version("svc", 1, user="carol")
    reg.delete_model_version("svc", 2)
    log = reg.history("svc")
    assert rows(log)[2:] == [
        ("alias_delete", "svc", 1, None, None, "champion", "carol"),
        ("delete_version", "svc", 1, "Production", None, None, "carol"),
        ("delete_version", "svc", 2, "None", None, None, "tester"),
    ]
    assert log[2].comment == "version 1 deleted"
    assert [change_of(r) for r in log[3:]] == [
        "v1 deleted (was Production)",
        "v2 deleted (was None)",
    ]
    assert str(history_row(log[3])[2]) == "v1"
    assert rows(reg.history("svc", 1))[-1][0] == "delete_version"


def test_a_deleted_models_log_stays_readable_and_apart_from_a_new_one(reg, run):
    reg.create_model_version("enet", src(run))
    reg.transition("enet", 1, "Staging")
    reg.set_alias("enet", "next", 1)
    reg.rename_registered_model("enet", "enet2")
    reg.delete_registered_model("enet2", user="dave")
    log = reg.history("enet2")
    assert rows(log)[2:] == [
        ("rename", "enet", 0, None, None, None, "tester"),
        ("alias_delete", "enet2", 1, None, None, "next", "dave"),
        ("delete_version", "enet2", 1, "Staging", None, None, "dave"),
        ("delete_model", "enet2", 0, None, None, None, "dave"),
    ]
    assert log[3].comment == log[4].comment == "model deleted"
    assert change_of(log[-1]) == "model deleted"
    assert reg.history("enet") == log  # its first name finds it too
    [gone] = reg.model_logs("enet2")
    assert (gone.name, gone.deleted, list(gone.records)) == ("enet2", True, log)

    # A model made again under either name starts a log of its own.
    reg.create_model_version("enet2", src(run))
    assert reg.history("enet2") == []
    reg.transition("enet2", 1, "Production", "new one")
    assert rows(reg.history("enet2")) == [
        ("transition", "enet2", 1, "None", "Production", None, "tester")
    ]
    old, new = reg.model_logs("enet2")
    assert (old.name, old.deleted, list(old.records)) == ("enet2", True, log)
    assert (new.name, new.deleted, list(new.records)) == ("enet2", False, reg.history("enet2"))
    reg.create_registered_model("enet")
    assert reg.history("enet") == []
    assert [(m.name, m.deleted, len(m.records)) for m in reg.model_logs("enet")] == [
        ("enet2", True, len(log)),
        ("enet", False, 0),
    ]
    with pytest.raises(NotFoundError, match="no registered model named 'never'"):
        reg.history("never")
    with pytest.raises(NotFoundError, match="no registered model named 'never'"):
        reg.model_logs("never")


def test_two_deleted_models_of_one_name_keep_two_logs(reg, run):
    for user in ("first", "second"):
        reg.create_model_version("m", src(run))
        reg.delete_registered_model("m", user=user)
    logs = reg.model_logs("m")
    assert [[(r.kind, r.user_id) for r in m.records] for m in logs] == [
        [("delete_version", "first"), ("delete_model", "first")],
        [("delete_version", "second"), ("delete_model", "second")],
    ]
    assert reg.history("m") == list(logs[1].records)  # the last one deleted


def test_the_new_rows_cannot_be_changed_or_removed(reg, run, store_path):
    reg.create_model_version("m", src(run))
    reg.rename_registered_model("m", "m2")
    reg.delete_model_version("m2", 1)
    reg.delete_registered_model("m2")
    conn = sqlite3.connect(store_path / "mltop.db", isolation_level=None)
    kinds = ("rename", "delete_version", "delete_model")
    for kind in kinds:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE model_transitions SET user_id = 'x' WHERE kind = ?", (kind,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM model_transitions WHERE kind = ?", (kind,))
    found = [k for (k,) in conn.execute("SELECT kind FROM model_transitions ORDER BY id")]
    assert found == list(kinds)
    conn.close()


# -- the command line --------------------------------------------------------------------


def test_models_history_shows_a_deleted_model_and_then_the_new_one(reg, run, store_path):
    reg.create_model_version("enet", src(run))
    reg.transition("enet", 1, "Production", "ship", user="alice")
    reg.delete_registered_model("enet", user="dave")
    shown = cli(store_path, "models", "history", "enet")
    assert "enet (deleted)" in shown
    assert "v1 deleted (was Production)" in shown and "model deleted" in shown
    assert "dave" in shown and "alice" in shown

    reg.create_model_version("enet", src(run))
    reg.transition("enet", 1, "Staging", user="erin")
    shown = cli(store_path, "models", "history", "enet")
    deleted_at, current_at = shown.index("enet (deleted)"), shown.index("enet (current)")
    assert deleted_at < shown.index("model deleted") < current_at < shown.index("erin")
    as_json = json.loads(cli(store_path, "models", "history", "enet", "--json"))
    assert [(h["log"], h["deleted"], h["kind"], h["user_id"]) for h in as_json] == [
        (0, True, "transition", "alice"),
        (0, True, "delete_version", "dave"),
        (0, True, "delete_model", "dave"),
        (1, False, "transition", "erin"),
    ]
    one = json.loads(cli(store_path, "models", "history", "enet", "--version", "1", "--json"))
    assert [h["kind"] for h in one] == ["transition", "delete_version", "transition"]


def test_models_history_of_a_live_model_is_one_untitled_table(reg, run, store_path):
    reg.create_model_version("enet", src(run))
    reg.rename_registered_model("enet", "enet2", user="bob")
    shown = cli(store_path, "models", "history", "enet2")
    assert "renamed from enet" in shown and "bob" in shown
    assert "(current)" not in shown and "(deleted)" not in shown
    shown = cli(store_path, "models", "history", "enet")
    assert "enet (renamed since: now enet2)" in shown and "renamed from enet" in shown


# -- the dashboard -----------------------------------------------------------------------


@sync
async def test_the_registry_screens_history_shows_renames_and_deleted_versions(
    reg, run, store_path
):
    for _ in range(2):
        reg.create_model_version("enet", src(run))
    reg.transition("enet", 1, "Production", "ship")
    reg.rename_registered_model("enet", "enet2")
    reg.delete_model_version("enet2", 1)
    app = MltopApp(store_path, follow=False, clock=lambda: NOW)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("r")
        await settle(pilot, lambda: isinstance(app.screen, RegistryScreen) and app.screen.versions)
        await pilot.press("h")
        history = app.screen.query_one("#history", DataTable)
        await settle(pilot, lambda: history.row_count == 3)
        shown = [" | ".join(str(cell) for cell in history.get_row_at(i)) for i in range(3)]
    assert "v1 deleted (was Production)" in shown[0]  # newest first
    assert "renamed from enet" in shown[1]
    assert "None → Production" in shown[2]


# -- MLflow's client through the plugin --------------------------------------------------


def test_mlflows_deletes_and_renames_land_in_the_log(mlf, new_run, ours, store_path):  # noqa: F811
    mlf.create_registered_model("svc")
    _version(mlf, "svc", new_run())
    mlf.transition_model_version_stage("svc", "1", "Production")
    mlf.delete_model_version("svc", "1")
    last = ours.store.registry.history("svc")[-1]
    assert (last.kind, last.version, last.from_stage, last.user_id) == (
        "delete_version",
        1,
        "Production",
        current_user(),
    )
    assert "v1 deleted (was Production)" in cli(store_path, "models", "history", "svc")

    mlf.create_registered_model("enet")
    _version(mlf, "enet", new_run())
    mlf.transition_model_version_stage("enet", "1", "Staging")
    mlf.rename_registered_model("enet", "enet2")
    mlf.delete_registered_model("enet2")
    titles = {"enet": "enet (renamed to enet2, then deleted)", "enet2": "enet2 (deleted)"}
    for name, title in titles.items():
        shown = cli(store_path, "models", "history", name)
        assert title in shown
        for words in ("None → Staging", "renamed from enet", "v1 deleted (was Staging)"):
            assert words in shown
        assert "model deleted" in shown
    assert [r.kind for r in ours.store.registry.history("enet2")] == [
        "transition",
        "rename",
        "delete_version",
        "delete_model",
    ]
    mlf.create_registered_model("enet")
    assert json.loads(cli(store_path, "models", "history", "enet", "--json"))[-1]["log"] == 0
    assert "enet (current)" in cli(store_path, "models", "history", "enet")
