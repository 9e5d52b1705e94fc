"""`mltop models ...`: confirmation, refusal without a terminal, policy output, JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mltop.store import MltopClient, Store
from mltop.tui.cli import main


@pytest.fixture
def setup(store_path):
    client = MltopClient(Store(store_path))
    ids = []
    for acc in (0.95, 0.5):
        run_id = client.create_run(log_system_info=False).info.run_id
        client.log_metric(run_id, "val_acc", acc)
        ids.append(run_id)
    client.flush()
    client.close()
    return ids


def cli(store_path, *args, input=None, tty=False, monkeypatch=None):
    if monkeypatch is not None:
        from mltop.tui.cli import models as models_cli

        monkeypatch.setattr(models_cli, "_interactive", lambda: tty)
    return CliRunner().invoke(main, [*args, "--store", str(store_path)], input=input)


def test_register_show_list_json(setup, store_path):
    out = cli(store_path, "models", "register", f"runs:/{setup[0][:8]}/model", "m", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["version"] == 1
    assert json.loads(cli(store_path, "models", "list", "--json").output)[0]["name"] == "m"
    shown = json.loads(cli(store_path, "models", "show", "m", "--json").output)
    assert [v["version"] for v in shown["versions"]] == [1]


def test_transition_asks_and_cancel_changes_nothing(setup, store_path, monkeypatch):
    cli(store_path, "models", "register", f"runs:/{setup[0]}/model", "m")
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "1",
        "Production",
        "-m",
        "go",
        input="n\n",
        tty=True,
        monkeypatch=monkeypatch,
    )
    assert out.exit_code == 1 and "m v1: None → Production" in out.output
    assert "cancelled" in out.output
    assert Store(store_path).registry.get_model_version("m", 1).current_stage == "None"
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "1",
        "Production",
        "-m",
        "go",
        input="y\n",
        tty=True,
        monkeypatch=monkeypatch,
    )
    assert out.exit_code == 0, out.output
    assert Store(store_path).registry.get_model_version("m", 1).current_stage == "Production"


def test_without_a_terminal_it_refuses_unless_yes(setup, store_path, monkeypatch):
    cli(store_path, "models", "register", f"runs:/{setup[0]}/model", "m")
    out = cli(
        store_path, "models", "transition", "m", "1", "Staging", tty=False, monkeypatch=monkeypatch
    )
    assert out.exit_code == 1 and "pass --yes" in out.output
    out = cli(store_path, "models", "transition", "m", "1", "Staging", "--yes")
    assert out.exit_code == 0
    assert Store(store_path).registry.get_model_version("m", 1).current_stage == "Staging"


def test_policy_failure_shows_values_and_force_needs_a_comment(setup, store_path):
    cli(store_path, "models", "register", f"runs:/{setup[1]}/model", "m")
    assert cli(store_path, "models", "policy", "m", "metrics.val_acc >= 0.9").exit_code == 0
    out = cli(store_path, "models", "transition", "m", "1", "Production", "-m", "try", "--yes")
    assert out.exit_code == 1
    assert "FAIL  metrics.val_acc >= 0.9   (actual: 0.5)" in out.output
    out = cli(store_path, "models", "transition", "m", "1", "Production", "--force", "--yes")
    assert out.exit_code == 2
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "1",
        "Production",
        "--force",
        "--yes",
        "-m",
        "accepted risk",
    )
    assert out.exit_code == 0, out.output
    history = json.loads(cli(store_path, "models", "history", "m", "--json").output)
    assert history[0]["forced"] is True and history[0]["comment"] == "accepted risk"
    assert cli(store_path, "models", "policy", "m").output.strip() == "metrics.val_acc >= 0.9"
    assert cli(store_path, "models", "policy", "m", "--clear").exit_code == 0
    bad = cli(store_path, "models", "policy", "m", "metrics.val_acc >= 'x'")
    # A usage error, as a bad filter is everywhere (exit 2), pointing at the character.
    assert bad.exit_code == 2 and "invalid filter" in bad.output, bad.output
    assert "  metrics.val_acc >= 'x'\n" + " " * 21 + "^" in bad.output
    assert cli(store_path, "models", "policy", "m").output.strip() == "m has no policy"


def test_rollback_alias_unalias_and_history(setup, store_path):
    for run in setup:
        cli(store_path, "models", "register", f"runs:/{run}/model", "m")
    for version in ("1", "2"):
        out = cli(
            store_path, "models", "transition", "m", version, "Production", "-m", "x", "--yes"
        )
        assert out.exit_code == 0, out.output
    out = cli(store_path, "models", "rollback", "m", "--yes", "-m", "regression")
    assert out.exit_code == 0 and "roll back: m v1: Archived → Production" in out.output
    assert cli(store_path, "models", "alias", "m", "champion", "1").exit_code == 0
    assert cli(store_path, "models", "alias", "m", "latest", "1").exit_code == 1
    assert cli(store_path, "models", "unalias", "m", "champion").exit_code == 0
    table = cli(store_path, "models", "history", "m").output
    assert "rollback" in table and "@champion" in table
    only_v1 = json.loads(
        cli(store_path, "models", "history", "m", "--version", "1", "--json").output
    )
    assert {r["version"] for r in only_v1} == {1}


def test_production_needs_a_comment(setup, store_path, monkeypatch):
    cli(store_path, "models", "register", f"runs:/{setup[0]}/model", "m")
    out = cli(store_path, "models", "transition", "m", "1", "Production", "-m", " ", "--yes")
    assert out.exit_code == 2, out.output
    assert "a move to Production needs a comment saying why: give --comment WHY" in out.output
    # Refused before the question: nobody confirms a move the registry would refuse.
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "1",
        "Production",
        input="y\n",
        tty=True,
        monkeypatch=monkeypatch,
    )
    assert out.exit_code == 2 and "Proceed?" not in out.output
    assert Store(store_path).registry.history("m") == []


def test_rollback_needs_a_comment(setup, store_path, monkeypatch):
    for run in setup:
        cli(store_path, "models", "register", f"runs:/{run}/model", "m")
    for version in ("1", "2"):
        cli(store_path, "models", "transition", "m", version, "Production", "-m", "x", "--yes")
    out = cli(store_path, "models", "rollback", "m", input="y\n", tty=True, monkeypatch=monkeypatch)
    assert out.exit_code == 2 and "Proceed?" not in out.output
    assert "a rollback needs a comment saying why" in out.output
    assert Store(store_path).registry.resolve("models:/m/Production").version == 2


def test_the_registry_refusal_is_reported_even_past_the_cli(setup, store_path, monkeypatch):
    """The rule lives in the registry: were the CLI's early check gone, the registry's own
    refusal still reaches the user as a one-line error, and nothing changes."""
    from mltop.tui.cli import models as models_cli

    cli(store_path, "models", "register", f"runs:/{setup[0]}/model", "m")
    monkeypatch.setattr(models_cli, "_check_comment", lambda *args: None)
    out = cli(store_path, "models", "transition", "m", "1", "Production", "--yes")
    assert out.exit_code == 1
    assert "mltop: error: a move to Production needs a comment saying why" in out.output
    assert Store(store_path).registry.get_model_version("m", 1).current_stage == "None"


@pytest.fixture
def three(setup, store_path):
    """m: v1 in Production; v2 and v3 in None."""
    client = MltopClient(Store(store_path))
    third = client.create_run(log_system_info=False).info.run_id
    client.close()
    for run in (*setup, third):
        cli(store_path, "models", "register", f"runs:/{run}/model", "m")
    cli(store_path, "models", "transition", "m", "1", "Production", "-m", "first", "--yes")


def meanwhile(monkeypatch, store_path, change) -> None:
    """While the user reads the question, someone else changes the registry; then yes."""
    from mltop.tui.cli import models as models_cli

    def answer_after_a_change(*args, **kwargs):
        with Store(store_path) as other:
            change(other.registry)
        return True

    monkeypatch.setattr(models_cli.click, "confirm", answer_after_a_change)


def test_a_move_changed_while_asked_is_not_made_and_the_new_one_is_shown(
    three, store_path, monkeypatch
):
    meanwhile(
        monkeypatch,
        store_path,
        lambda reg: reg.transition("m", 3, "Production", "hotfix", user="bob"),
    )
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "2",
        "Production",
        "-m",
        "beats v1",
        tty=True,
        monkeypatch=monkeypatch,
    )
    assert out.exit_code == 1, out.output
    asked, _, after = out.output.partition("The registry changed")
    assert "m v2: None → Production; v1 (Production) will be archived" in asked
    assert "m v2: None → Production; v3 (Production) will be archived" in after
    assert "nothing was done" in after and "Done" not in out.output
    reg = Store(store_path).registry
    assert [reg.get_model_version("m", v).current_stage for v in (1, 2, 3)] == [
        "Archived",
        "None",
        "Production",
    ]
    assert [r.user_id for r in reg.history("m")][-1] == "bob"


def test_a_rollback_whose_target_changed_while_asked_is_not_made(three, store_path, monkeypatch):
    cli(store_path, "models", "transition", "m", "2", "Production", "-m", "v2", "--yes")
    meanwhile(
        monkeypatch, store_path, lambda reg: reg.transition("m", 3, "Production", "v3", user="bob")
    )
    out = cli(store_path, "models", "rollback", "m", "-m", "bad", tty=True, monkeypatch=monkeypatch)
    assert out.exit_code == 1, out.output
    asked, _, after = out.output.partition("The registry changed")
    assert "roll back: m v1: Archived → Production; v2 (Production) will be archived" in asked
    assert "roll back: m v2: Archived → Production; v3 (Production) will be archived" in after
    reg = Store(store_path).registry
    assert reg.resolve("models:/m/Production").version == 3
    assert reg.history("m")[-1].kind == "transition"


def test_a_move_made_as_asked_says_what_was_done(three, store_path, monkeypatch):
    out = cli(
        store_path,
        "models",
        "transition",
        "m",
        "2",
        "Production",
        "-m",
        "beats v1",
        input="y\n",
        tty=True,
        monkeypatch=monkeypatch,
    )
    assert out.exit_code == 0, out.output
    assert "Done: m v2: None → Production; v1 (Production) archived" in out.output
