"""The dashboard on a tracking server: the same screens, read over MLflow's REST API,
followed by polling, and a server that cannot be reached said on screen, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_fixture import MlflowServer, free_port, start_server, stop_server
from test_dashboard import loaded, names, settle, sync

from mltop.store import MltopClient
from mltop.tui.app import MltopApp
from mltop.tui.screens.run_detail import RunDetailScreen

NOW = 1_800_000_000_000


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A server of this module's alone: the dashboard shows every run a server holds."""
    server = start_server(tmp_path_factory.mktemp("tui-server"))
    try:
        yield server
    finally:
        stop_server(server)


def log_run(url: str, name: str, losses: list[float]) -> str:
    client = MltopClient(url)
    try:
        experiment = client.get_experiment_by_name("vision")
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment("vision")
        )
        run = client.create_run(experiment_id, run_name=name, log_system_info=False)
        run_id = run.info.run_id
        client.log_param(run_id, "lr", "0.1")
        for step, loss in enumerate(losses):
            client.log_metric(run_id, "loss", loss, step=step)
        client.set_terminated(run_id)
        client.flush()
        return run_id
    finally:
        client.close()


@sync
async def test_the_dashboard_reads_a_server_and_follows_it_by_polling(
    own_server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    log_run(own_server.url, "[bold]alpha[/]", [1.0, 0.5, 0.25])
    app = MltopApp(own_server.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 1)
        assert app.sub_title == f"{own_server.url}  ● polling every 1 s"
        # What a server cannot do is said once, not hidden.
        said = [n.message for n in app._notifications if n.title == "on a tracking server"]
        assert len(said) == 1 and "no heartbeats" in said[0] and "outside mltop" in said[0]
        assert names(app) == ["[bold]alpha[/]"]
        # A run logged elsewhere shows within a poll or two (condition, with a deadline).
        log_run(own_server.url, "beta", [2.0, 1.0])
        await settle(pilot, lambda: "beta" in names(app), tries=1500)
        assert sorted(n or "" for n in names(app)) == ["[bold]alpha[/]", "beta"]
        # Its page reads its history from the server.
        await pilot.press("home")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        await settle(pilot, lambda: screen.run is not None and "loss" in screen.run.data.metrics)
        assert app.is_running
        # A healthy server: nothing was said to be wrong.
        assert [(n.title, n.message) for n in app._notifications if n.severity == "error"] == []


@sync
async def test_a_server_that_cannot_be_reached_is_said_on_screen_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    url = f"http://127.0.0.1:{free_port()}"
    app = MltopApp(url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(
            pilot, lambda: any(n.title == "server unreachable" for n in app._notifications)
        )
        assert app.is_running and app.sub_title.endswith("⚠ server unreachable")
        message = next(n.message for n in app._notifications if n.title == "server unreachable")
        assert "Connection refused" in message and url in message
        await pilot.press("q")
    assert not app.is_running


def test_a_running_run_on_a_server_is_not_claimed_alive(
    own_server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No heartbeat: the run page says a RUNNING run may have died; a local store's says
    nothing of the kind (its heartbeats turn a dead run LOST)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = MltopClient(own_server.url)
    experiment_id = client.create_experiment(f"alive-{tmp_path.name}")
    run = client.create_run(experiment_id, run_name="still going", log_system_info=False)
    client.close()

    @sync
    async def summary_of(location: str, run: str) -> str:
        app = MltopApp(location, follow=False, clock=lambda: NOW)
        async with app.run_test(size=(160, 40)) as pilot:
            app.push_screen(RunDetailScreen(app.store, run))
            await settle(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            screen = app.screen
            assert isinstance(screen, RunDetailScreen)
            await settle(pilot, lambda: screen.run is not None)
            return str(screen._summary(screen.run))  # type: ignore[arg-type]

    assert "RUNNING (no heartbeat)" in summary_of(own_server.url, run.info.run_id)
    local = MltopClient(tmp_path / "store")
    local_id = local.create_run(run_name="still going", log_system_info=False).info.run_id
    local.close()
    assert "no heartbeat" not in summary_of(str(tmp_path / "store"), local_id)


@sync
async def test_a_url_that_is_not_an_mlflow_server_is_said_not_a_crash(tmp_path: Path) -> None:
    """`mltop --store http://host:port` of some other web server once ended the dashboard
    with a traceback."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = MltopApp(f"http://127.0.0.1:{server.server_address[1]}", clock=lambda: NOW)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(
                pilot, lambda: any(n.title == "not an MLflow server" for n in app._notifications)
            )
            assert app.is_running and app.sub_title.endswith("⚠ not an MLflow server")
            await pilot.press("q")
    finally:
        server.shutdown()
        server.server_close()
