"""Artifacts stay inside the run's folder, whatever path or link is given."""

from __future__ import annotations

import json
import os

import pytest

from mltop.store import ArtifactPathError, NotFoundError


@pytest.fixture
def run_id(client):
    return client.create_run(run_name="a").info.run_id


def test_log_file_text_dict_and_directory_then_list_and_open(client, run_id, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x00\x01weights")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("x,y\n1,2\n")
    (data / "sub" / "b.txt").write_text("b")

    client.log_artifact(run_id, tmp_path / "model.bin")
    client.log_artifact(run_id, tmp_path / "model.bin", "checkpoints/epoch-1")
    client.log_artifacts(run_id, data, "dataset")
    client.log_text(run_id, "hello ✓", "notes/readme.md")
    client.log_dict(run_id, {"lr": 0.1, "layers": [1, 2]}, "config.json")

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [
        ("checkpoints", True),
        ("config.json", False),
        ("dataset", True),
        ("model.bin", False),
        ("notes", True),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "dataset")] == [
        "dataset/a.csv",
        "dataset/sub",
    ]
    assert client.list_artifacts(run_id, "dataset/sub")[0].size == 1
    with client.open_artifact(run_id, "checkpoints/epoch-1/model.bin") as fh:
        assert fh.read() == b"\x00\x01weights"
    with client.open_artifact(run_id, "notes/readme.md", "r") as fh:
        assert fh.read() == "hello ✓"
    with client.open_artifact(run_id, "config.json", "r") as fh:
        assert json.load(fh) == {"layers": [1, 2], "lr": 0.1}
    paths = {f.path for f in client.store.artifacts(run_id).walk()}
    assert "dataset/sub/b.txt" in paths


@pytest.mark.parametrize("bad", ["../x.txt", "a/../../x.txt", "/etc/passwd", "..", "C:/x"])
def test_paths_leaving_the_run_folder_are_refused(client, run_id, bad, tmp_path):
    with pytest.raises(ArtifactPathError):
        client.log_text(run_id, "x", bad)
    with pytest.raises(ArtifactPathError):
        client.open_artifact(run_id, bad)
    assert not (tmp_path / "x.txt").exists()


def test_a_symlink_inside_the_run_folder_cannot_lead_outside(client, run_id, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("private")
    client.log_text(run_id, "ok", "inside.txt")
    root = client.store.artifacts(run_id).root
    os.symlink(secret, root / "escape")
    with pytest.raises(ArtifactPathError, match="outside the run's artifact folder"):
        client.open_artifact(run_id, "escape/key.txt")
    with pytest.raises(ArtifactPathError, match="through a symbolic link"):
        client.log_text(run_id, "overwrite", "escape/key.txt")
    assert (secret / "key.txt").read_text() == "private"


def test_logging_a_directory_with_a_link_pointing_out_is_refused(client, run_id, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "outside.txt").write_text("o")
    os.symlink(tmp_path / "outside.txt", data / "link.txt")
    with pytest.raises(ArtifactPathError, match="symbolic link"):
        client.log_artifacts(run_id, data)


def test_missing_things_are_clear_errors(client, run_id, tmp_path):
    with pytest.raises(NotFoundError, match="no such file"):
        client.log_artifact(run_id, tmp_path / "nope.bin")
    with pytest.raises(NotFoundError, match="no artifact 'nope.txt'"):
        client.open_artifact(run_id, "nope.txt")
    assert client.list_artifacts(run_id, "nothing-here") == []


def test_artifacts_are_opened_read_only(client, run_id):
    client.log_text(run_id, "x", "a.txt")
    with pytest.raises(ArtifactPathError, match="reading only"):
        client.open_artifact(run_id, "a.txt", "w")


def test_a_dangling_symlink_inside_the_run_folder_is_never_written_through(
    client, run_id, tmp_path
):
    """The link's target does not exist, so no path check can resolve it: a copy through
    it would create a file wherever it points. Any link on the way is refused."""
    client.log_text(run_id, "ok", "inside.txt")
    root = client.store.artifacts(run_id).root
    outside = tmp_path / "planted.txt"
    os.symlink(outside, root / "dangling.txt")
    source = tmp_path / "dangling.txt"
    source.write_text("payload")
    with pytest.raises(ArtifactPathError, match="symbolic link"):
        client.log_artifact(run_id, str(source))
    with pytest.raises(ArtifactPathError, match="symbolic link"):
        client.log_text(run_id, "payload", "dangling.txt")
    os.symlink(tmp_path / "nowhere", root / "folder")
    with pytest.raises(ArtifactPathError, match="symbolic link"):
        client.log_text(run_id, "payload", "folder/x.txt")
    assert not outside.exists() and not (tmp_path / "nowhere").exists()


def test_a_copy_that_fails_halfway_leaves_no_file_under_the_artifact_name(
    client, run_id, tmp_path, monkeypatch
):
    import shutil

    source = tmp_path / "weights.bin"
    source.write_bytes(b"x" * 10_000)
    real_copy = shutil.copyfile

    def killed(src, dst):
        with open(dst, "wb") as out:
            out.write(b"x" * 100)  # part of it, then the process is gone
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfile", killed)
    with pytest.raises(KeyboardInterrupt):
        client.log_artifact(run_id, str(source))
    root = client.store.artifacts(run_id).root
    assert list(root.iterdir()) == []  # neither the name nor a temporary file
    monkeypatch.setattr(shutil, "copyfile", real_copy)
    client.log_artifact(run_id, str(source))
    assert (root / "weights.bin").stat().st_size == 10_000


def test_only_regular_files_are_opened(client, run_id):
    client.log_text(run_id, "ok", "inside.txt")
    root = client.store.artifacts(run_id).root
    os.mkfifo(root / "pipe")
    with pytest.raises(ArtifactPathError, match="not a regular file"):
        client.open_artifact(run_id, "pipe")
