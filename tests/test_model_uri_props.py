"""Property tests of the model URI and MLmodel parsers: whatever text arrives (a URI typed
on the command line, an MLmodel file from elsewhere), the answer is a typed mltop error or a
folder inside the store, never a crash or a path leading out of it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_classes import Scaler

from mltop import models
from mltop.models.errors import ModelFormatError
from mltop.models.mlmodel import Model
from mltop.models.uri import resolve_model_uri
from mltop.store import MltopError, Store

_PIECES = st.sampled_from(
    ["runs:/", "models:/", "file://", "..", "/", "@", "m-", "model", "%2e%2e", "latest", "\x00"]
)
_URIS = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=6).map("".join)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    import mltop.store as mt

    path = tmp_path_factory.mktemp("uri-props") / "store"
    mt.set_store(path)
    with mt.start_run() as run:
        info = models.log_model(Scaler(1.0), "model", registered_model_name="m")
    mt.set_store(None)
    store = Store(path)
    yield store, run.info.run_id, info
    store.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=_URIS)
def test_any_uri_is_a_typed_error_or_a_folder_in_its_place(logged, tail):
    store, run_id, _ = logged
    for uri in (tail, f"runs:/{run_id}/{tail}", f"models:/{tail}", f"models:/m/{tail}"):
        try:
            found = resolve_model_uri(uri, store)
        except MltopError:
            continue  # typed: ModelUriError, NotFoundError, ValidationError
        if uri.startswith("runs:"):
            artifacts = (store.path / "artifacts" / run_id).resolve()
            models_dir = (store.path / "models").resolve()
            resolved = found.path.resolve()
            assert resolved.is_relative_to(artifacts) or resolved.is_relative_to(models_dir)
        elif uri.startswith("models:"):
            assert found.path.resolve().is_relative_to((store.path / "models").resolve())


_YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(
        st.sampled_from(["flavors", "signature", "run_id", "model_size_bytes", "metadata", "x"]),
        _YAML_VALUES,
    )
)
def test_any_mlmodel_mapping_reads_or_says_why(values):
    try:
        model = Model.from_dict(values)
    except ModelFormatError:
        return
    assert model.flavors
    Model.from_dict(model.to_dict())  # what was read writes back readable


@given(st.text(max_size=200))
def test_any_mlmodel_text_reads_or_says_why(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("mlmodel")
    (folder / "MLmodel").write_text(text)
    with contextlib.suppress(ModelFormatError):
        Model.load(Path(folder))
