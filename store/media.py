"""Figures, images and tables turned into artifact files, as MLflow's `log_figure`,
`log_image` and `log_table` write them.

Every optional library (numpy, Pillow, matplotlib, plotly, pandas) is imported inside the
function that needs it, and only once the object is known to be one of its types: logging a
plotly figure works without matplotlib installed, and `import mltop.store` stays fast.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping
from typing import Any

from mltop.store.errors import InvalidValueError

COMPRESSED_IMAGE_SIZE = 256  # the longer side of the small copy of a keyed image, in pixels
IMAGE_KEY = re.compile(r"[a-zA-Z0-9_\-./ ]+")
PLOTLY_IMAGE_EXTENSIONS = (".png", ".jpeg", ".webp", ".svg", ".pdf")
_TABLE_FORBIDDEN = ('"', "'", ",", ":", "[", "]", "{", "}")


def _module_type(obj: object, module: str, qualname: str) -> bool:
    """Whether `obj` is an instance of `module.qualname`, importing nothing: a type of a
    library that is not loaded cannot be the object's."""
    if module.split(".")[0] not in sys.modules:
        return False
    owner = sys.modules.get(module)
    cls = getattr(owner, qualname, None) if owner is not None else None
    return isinstance(cls, type) and isinstance(obj, cls)


# -- figures -------------------------------------------------------------------------------


def figure_bytes(figure: Any, artifact_file: str, save_kwargs: Mapping[str, Any] | None) -> bytes:
    """A matplotlib or plotly figure saved as `artifact_file`'s extension says."""
    kwargs = dict(save_kwargs or {})
    extension = os.path.splitext(artifact_file)[1].lower()
    if "matplotlib" in sys.modules:
        import matplotlib.figure

        if isinstance(figure, matplotlib.figure.Figure):
            buffer = io.BytesIO()
            kwargs.setdefault("format", extension.lstrip(".") or "png")
            figure.savefig(buffer, **kwargs)
            return buffer.getvalue()
    if "plotly" in sys.modules:
        import plotly.graph_objects

        if isinstance(figure, plotly.graph_objects.Figure):
            if extension == ".html":
                kwargs.setdefault("include_plotlyjs", "cdn")
                kwargs.setdefault("full_html", True)
                return str(figure.to_html(**kwargs)).encode("utf-8")
            if extension in PLOTLY_IMAGE_EXTENSIONS:
                try:
                    return bytes(figure.to_image(format=extension.lstrip("."), **kwargs))
                except (ValueError, ImportError, RuntimeError) as exc:
                    raise InvalidValueError(
                        f"cannot save the plotly figure as {artifact_file!r}: plotly writes "
                        f"images with the kaleido package ({exc}); install kaleido, or log "
                        "the figure as .html"
                    ) from exc
            raise InvalidValueError(
                f"a plotly figure is logged as .html or as one of "
                f"{', '.join(PLOTLY_IMAGE_EXTENSIONS)}, not {extension or 'a file without one'!r}"
            )
    raise InvalidValueError(
        f"cannot log a {type(figure).__name__} as a figure: log_figure takes a matplotlib "
        "Figure or a plotly Figure"
    )


# -- images --------------------------------------------------------------------------------


def _uint8(array: Any) -> Any:
    import numpy as np

    is_int = np.issubdtype(array.dtype, np.integer)
    if not is_int and array.dtype.kind == "f" and not np.isfinite(array).all():
        counts = [
            (int(np.isnan(array).sum()), "NaN"),
            (int(np.isposinf(array).sum()), "+inf"),
            (int(np.isneginf(array).sum()), "-inf"),
        ]
        found = ", ".join(f"{n:,} {what}" for n, what in counts if n)
        raise InvalidValueError(
            f"an image array holds values that are not pixels ({found} of {array.size:,}): "
            "nothing was logged; replace them first (numpy.nan_to_num, or a mask)"
        )
    top = 255 if is_int else 1
    if array.size and (array.min() < 0 or array.max() > top):
        if is_int:
            raise InvalidValueError(
                "integer pixel values must be in [0, 255]; found values from "
                f"{array.min()} to {array.max()}"
            )
        warnings.warn(
            f"float pixel values outside [0.0, 1.0] (from {array.min()} to {array.max()}) "
            "were rescaled to [0.0, 1.0] by their minimum and maximum",
            stacklevel=4,
        )
        span = array.max() - array.min()
        array = (array - array.min()) / (span if span else 1)
    if not is_int:
        array = array * 255
    return array.astype(np.uint8)


def to_pil(image: Any) -> Any:
    """A numpy array (bool, int or uint in [0, 255], float in [0, 1]; H x W, H x W x 1,
    3 or 4) or a PIL image, as a PIL image."""
    if _module_type(image, "numpy", "ndarray"):
        from PIL import Image

        kinds = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}
        if image.dtype.kind not in kinds:
            raise InvalidValueError(
                f"cannot log an image array of type {image.dtype}; the types are "
                f"{', '.join(kinds.values())}"
            )
        if image.ndim not in (2, 3):
            raise InvalidValueError(
                f"an image array is 2D or 3D; this one has the shape {image.shape}"
            )
        if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
            raise InvalidValueError(
                f"an image array has 1, 3 or 4 channels, not {image.shape[2]} (shape {image.shape})"
            )
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        return Image.fromarray(_uint8(image))
    if _module_type(image, "PIL.Image", "Image"):
        return image
    raise InvalidValueError(
        f"cannot log a {type(image).__name__} as an image: log_image takes a numpy array "
        "or a PIL image"
    )


def image_bytes(image: Any, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def compressed(image: Any, max_size: int = COMPRESSED_IMAGE_SIZE) -> Any:
    """The image scaled so that its longer side is `max_size`, keeping its proportions."""
    width, height = image.size
    if width > height:
        size = (max_size, max(1, int(height * max_size / width)))
    else:
        size = (max(1, int(width * max_size / height)), max_size)
    return image.resize(size)


def check_image_key(key: str) -> str:
    if not isinstance(key, str) or not IMAGE_KEY.fullmatch(key):
        raise InvalidValueError(
            f"image key {key!r}: a key may contain only letters, digits, underscores, "
            "dashes, periods, spaces and slashes"
        )
    return key


# -- tables --------------------------------------------------------------------------------


def check_table_file(artifact_file: str) -> None:
    for char in _TABLE_FORBIDDEN:
        if char in artifact_file:
            raise InvalidValueError(f"a table's artifact file may not contain {char!r}")
    if not artifact_file.endswith(".json"):
        raise InvalidValueError(
            f"a table is logged as a .json file, not {artifact_file!r} (mltop does not "
            "write parquet tables)"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_of(data: Any) -> dict[str, list[Any]]:
    """A dict of columns (lists, or scalars for one row) or a pandas DataFrame, in
    MLflow's table format: {"columns": [...], "data": [[...], ...]}."""
    if _module_type(data, "pandas", "DataFrame"):
        # pandas' own JSON: dates in ISO form, NaN as null, numpy scalars as numbers.
        split = json.loads(data.to_json(orient="split", index=False, date_format="iso"))
        return {"columns": split["columns"], "data": split["data"]}
    if not isinstance(data, Mapping):
        raise InvalidValueError(
            f"log_table takes a dict of columns or a pandas DataFrame, not {type(data).__name__}"
        )
    columns = [str(c) for c in data]
    values = list(data.values())
    listed = [isinstance(v, (list, tuple)) or _module_type(v, "numpy", "ndarray") for v in values]
    if not any(listed):
        rows = [[_jsonable(v) for v in values]]
    elif not all(listed):
        raise InvalidValueError("a table's columns are all lists, or all single values (one row)")
    else:
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise InvalidValueError(
                f"a table's columns must have one length; these have {sorted(lengths)}"
            )
        rows = [[_jsonable(_plain(v[i])) for v in values] for i in range(lengths.pop())]
    return {"columns": columns, "data": rows}


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # a numpy scalar
    return item() if callable(item) and type(value).__module__ == "numpy" else value


def append_table(existing: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of `new` after those of `existing`; columns either lacks are null in its rows."""
    old_cols, new_cols = list(existing["columns"]), list(new["columns"])
    columns = old_cols + [c for c in new_cols if c not in old_cols]
    rows = []
    for cols, data in ((old_cols, existing["data"]), (new_cols, new["data"])):
        where = {c: i for i, c in enumerate(cols)}
        rows += [[row[where[c]] if c in where else None for c in columns] for row in data]
    return {"columns": columns, "data": rows}


def table_text(table: Mapping[str, Any]) -> str:
    try:
        return json.dumps(table, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"the table cannot be written as JSON: {exc}") from exc


def new_temp_dir() -> str:
    return tempfile.mkdtemp(prefix="mltop-artifacts-")
