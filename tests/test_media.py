"""log_figure, log_image and log_table: matplotlib and plotly figures, numpy and PIL images,
tables in MLflow's JSON form, written where MLflow writes them."""

from __future__ import annotations

import io
import json
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from helpers import run_python
from PIL import Image

from mltop.store import InvalidValueError, ValidationError

T0 = 1_700_000_000_000


@pytest.fixture
def run_id(client):
    return client.create_run("0", log_system_info=False).info.run_id


def read(client, run_id, path) -> bytes:
    with client.open_artifact(run_id, path) as f:
        return f.read()


def png(client, run_id, path) -> Image.Image:
    data = read(client, run_id, path)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data))


# -- figures ------------------------------------------------------------------------------------


@pytest.fixture
def mpl_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [2, 1, 3])
    yield fig
    plt.close(fig)


def test_matplotlib_figure_in_the_extensions_format(client, run_id, mpl_figure):
    client.log_figure(run_id, mpl_figure, "plots/curve.png")
    assert png(client, run_id, "plots/curve.png").size[0] > 0
    client.log_figure(run_id, mpl_figure, "curve.svg")
    assert b"<svg" in read(client, run_id, "curve.svg")
    client.log_figure(run_id, mpl_figure, "curve.pdf", save_kwargs={"dpi": 50})
    assert read(client, run_id, "curve.pdf").startswith(b"%PDF")


def test_plotly_figure_as_html(client, run_id):
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    client.log_figure(run_id, fig, "fig.html")
    html = read(client, run_id, "fig.html").decode()
    assert "<html>" in html and "cdn.plot.ly" in html and "Plotly.newPlot" in html


def test_plotly_image_without_kaleido_is_a_clear_error(client, run_id, monkeypatch):
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))

    def no_kaleido(*args, **kwargs):
        raise ValueError("Image export using the 'kaleido' engine requires the kaleido package")

    monkeypatch.setattr(go.Figure, "to_image", no_kaleido)
    with pytest.raises(InvalidValueError, match="kaleido"):
        client.log_figure(run_id, fig, "fig.png")
    assert client.list_artifacts(run_id) == []


def test_plotly_figure_with_an_unknown_extension(client, run_id):
    with pytest.raises(InvalidValueError, match=r"\.html"):
        client.log_figure(run_id, go.Figure(), "fig.txt")


def test_not_a_figure(client, run_id):
    with pytest.raises(InvalidValueError, match="matplotlib Figure or a plotly Figure"):
        client.log_figure(run_id, {"x": 1}, "fig.png")


def test_figure_detection_imports_neither_library(store_path):
    out = run_python(f"""
        import sys
        from mltop import store as mt
        mt.set_tracking_uri({str(store_path)!r})
        try:
            mt.log_figure(object(), "f.png")
        except mt.InvalidValueError:
            pass
        print(sorted(m for m in ("matplotlib", "plotly", "pandas", "numpy", "PIL")
                     if m in sys.modules))
    """)
    assert out.stdout.strip() == "[]"


def test_import_store_loads_no_optional_library():
    out = run_python("""
        import sys
        import mltop.store
        print(sorted(m for m in ("matplotlib", "plotly", "pandas", "numpy", "PIL")
                     if m in sys.modules))
    """)
    assert out.stdout.strip() == "[]"


# -- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "mode"),
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), "L"),
        (np.arange(12, dtype=np.uint8).reshape(3, 4, 1), "L"),
        (np.full((3, 4, 3), 200, dtype=np.uint8), "RGB"),
        (np.full((3, 4, 4), 7, dtype=np.int64), "RGBA"),
    ],
)
def test_integer_arrays_keep_their_pixels(client, run_id, array, mode):
    client.log_image(run_id, array, "img.png")
    image = png(client, run_id, "img.png")
    assert image.mode == mode and image.size == (4, 3)
    assert np.array_equal(
        np.asarray(image),
        array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array.astype(np.uint8),
    )


def test_float_and_bool_arrays_are_scaled_to_255(client, run_id):
    client.log_image(run_id, np.array([[0.0, 0.5, 1.0]]), "f.png")
    assert np.asarray(png(client, run_id, "f.png")).tolist() == [[0, 127, 255]]
    client.log_image(run_id, np.array([[True, False]]), "b.png")
    assert np.asarray(png(client, run_id, "b.png")).tolist() == [[255, 0]]


def test_float_out_of_range_is_rescaled_with_a_warning(client, run_id):
    with pytest.warns(UserWarning, match="rescaled"):
        client.log_image(run_id, np.array([[-1.0, 0.0, 1.0]]), "r.png")
    assert np.asarray(png(client, run_id, "r.png")).tolist() == [[0, 127, 255]]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (float("nan"), "1 NaN of 3"),
        (float("inf"), r"1 \+inf of 3"),
        (-float("inf"), "1 -inf of 3"),
    ],
)
def test_an_image_holding_nan_or_inf_is_refused_and_nothing_is_lost(client, run_id, bad, message):
    client.log_image(run_id, np.array([[0.0, 1.0]]), "kept.png")
    array = np.array([[0.0, bad, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused outright, not a warning and a black pixel
        with pytest.raises(InvalidValueError, match=message):
            client.log_image(run_id, array, "bad.png")
        with pytest.raises(InvalidValueError, match="not pixels"):
            client.log_image(run_id, array.astype(np.float32), key="k", step=1)
    assert [a.path for a in client.list_artifacts(run_id)] == ["kept.png"]
    assert "mlflow.loggedImages" not in client.get_run(run_id).data.tags
    client.log_image(run_id, np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=0.0), key="k")
    assert np.asarray(png(client, run_id, "kept.png")).tolist() == [[0, 255]]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0, 256]]), r"\[0, 255\]"),
        (np.array([[-1, 3]]), r"\[0, 255\]"),
        (np.zeros((2, 2, 2), dtype=np.uint8), "1, 3 or 4 channels"),
        (np.zeros((2,), dtype=np.uint8), "2D or 3D"),
        (np.zeros((1, 2, 2, 3), dtype=np.uint8), "2D or 3D"),
        (np.zeros((2, 2), dtype=np.complex64), "complex64"),
        (np.array([["a", "b"]]), "<U1"),
    ],
)
def test_bad_arrays_are_refused(client, run_id, array, message):
    with pytest.raises(InvalidValueError, match=message):
        client.log_image(run_id, array, "bad.png")
    assert client.list_artifacts(run_id) == []


def test_pil_images_and_other_formats(client, run_id):
    image = Image.new("RGB", (5, 2), (10, 20, 30))
    client.log_image(run_id, image, "pil.png")
    assert png(client, run_id, "pil.png").getpixel((4, 1)) == (10, 20, 30)
    client.log_image(run_id, image, "pil.jpg")
    assert read(client, run_id, "pil.jpg").startswith(b"\xff\xd8")


def test_not_an_image(client, run_id):
    with pytest.raises(InvalidValueError, match="numpy array or a PIL image"):
        client.log_image(run_id, [[0, 1]], "x.png")


def test_images_by_key_and_step_as_mlflow_names_them(client, run_id):
    image = np.zeros((600, 300, 3), dtype=np.uint8)
    client.log_image(run_id, image, key="val/sample", step=3, timestamp=T0)
    client.log_image(run_id, image, key="val/sample", step=4, timestamp=T0 + 1)
    files = sorted(f.path for f in client.list_artifacts(run_id, "images"))
    pattern = re.compile(
        r"images/val~sample\+step\+(\d)\+timestamp\+(\d+)\+[0-9a-f-]{36}(\.png|\+compressed\.webp)"
    )
    matched = [pattern.fullmatch(f) for f in files]
    assert all(matched), files
    assert sorted((m[1], m[2], m[3]) for m in matched) == [
        ("3", str(T0), "+compressed.webp"),
        ("3", str(T0), ".png"),
        ("4", str(T0 + 1), "+compressed.webp"),
        ("4", str(T0 + 1), ".png"),
    ]
    full = next(f for f in files if f.endswith(".png"))
    assert png(client, run_id, full).size == (300, 600)
    small = Image.open(io.BytesIO(read(client, run_id, full.replace(".png", "+compressed.webp"))))
    assert small.size == (128, 256)
    assert client.get_run(run_id).data.tags["mlflow.loggedImages"] == "True"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"artifact_file": "a.png", "key": "k"}, "not both"),
        ({"artifact_file": "a.png", "step": 1}, "not both"),
        ({}, "artifact_file .* or key"),
        ({"key": "bad|key"}, "image key"),
        ({"key": "k", "step": 1.5}, "step"),
    ],
)
def test_log_image_arguments_as_mlflow_checks_them(client, run_id, kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        client.log_image(run_id, np.zeros((2, 2), dtype=np.uint8), **kwargs)


def test_fluent_log_image_and_figure_start_a_run(fluent, mpl_figure):
    fluent.log_image(np.zeros((2, 2), dtype=np.uint8), "a.png")
    run_id = fluent.active_run().run_id
    fluent.log_figure(mpl_figure, "f.png")
    fluent.log_image(np.zeros((2, 2), dtype=np.uint8), key="k", step=1)
    paths = {f.path for f in fluent.get_client().list_artifacts(run_id)}
    assert {"a.png", "f.png", "images"} <= paths


# -- tables -------------------------------------------------------------------------------------


def table(client, run_id, path):
    return json.loads(read(client, run_id, path))


def test_a_dict_table_in_mlflows_form_then_appended(client, run_id):
    # MLflow's docs example: a dict of columns, logged twice to one file.
    data = {
        "inputs": ["What is MLflow?", "What is Databricks?"],
        "outputs": ["MLflow is ...", "Databricks is ..."],
        "toxicity": [0.0, 0.0],
    }
    client.log_table(run_id, data, "qabot_eval_results.json")
    assert table(client, run_id, "qabot_eval_results.json") == {
        "columns": ["inputs", "outputs", "toxicity"],
        "data": [
            ["What is MLflow?", "MLflow is ...", 0.0],
            ["What is Databricks?", "Databricks is ...", 0.0],
        ],
    }
    client.log_table(run_id, {"inputs": ["Q3"], "score": [1]}, "qabot_eval_results.json")
    assert table(client, run_id, "qabot_eval_results.json") == {
        "columns": ["inputs", "outputs", "toxicity", "score"],
        "data": [
            ["What is MLflow?", "MLflow is ...", 0.0, None],
            ["What is Databricks?", "Databricks is ...", 0.0, None],
            ["Q3", None, None, 1],
        ],
    }
    tag = json.loads(client.get_run(run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "qabot_eval_results.json", "type": "table"}]


def test_a_dict_of_scalars_is_one_row(client, run_id):
    client.log_table(run_id, {"inputs": "What is MLflow?", "n": 1}, "one.json")
    assert table(client, run_id, "one.json") == {
        "columns": ["inputs", "n"],
        "data": [["What is MLflow?", 1]],
    }


def test_a_dataframe_table(client, run_id):
    frame = pd.DataFrame(
        {
            "a": [1, 2],
            "b": [0.5, float("nan")],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    client.log_table(run_id, frame, "dir/frame.json")
    stored = table(client, run_id, "dir/frame.json")
    assert stored["columns"] == ["a", "b", "when"]
    assert stored["data"][0][:2] == [1, 0.5] and stored["data"][1][1] is None
    assert stored["data"][0][2].startswith("2024-01-01T00:00:00")
    assert pd.read_json(io.StringIO(json.dumps(stored)), orient="split")["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"a": [1]}, "t.csv", r"\.json"),
        ({"a": [1]}, "t.parquet", "parquet"),
        ({"a": [1]}, "a,b.json", "','"),
        ({"a": [1]}, "a:b.json", "':'"),
        ({"a": [1, 2], "b": [1]}, "t.json", "one length"),
        ({"a": [1], "b": 2}, "t.json", "all lists"),
        ([1, 2], "t.json", "dict of columns"),
        ({"a": [object()]}, "t.json", "JSON"),
    ],
)
def test_bad_tables_are_refused(client, run_id, data, path, message):
    with pytest.raises(ValidationError, match=message):
        client.log_table(run_id, data, path)
    assert client.list_artifacts(run_id) == []


def test_appending_to_a_file_that_is_not_a_table(client, run_id):
    client.log_text(run_id, '{"not": "a table"}', "t.json")
    with pytest.raises(InvalidValueError, match="not a table"):
        client.log_table(run_id, {"a": [1]}, "t.json")
