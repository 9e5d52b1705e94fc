"""The `MLmodel` file: what a model folder holds and how to load it, in MLflow's format.

A model folder is MLflow's: an `MLmodel` YAML file naming the model's `flavors` (each a way
to load it: `python_function` for any tool, `sklearn` for scikit-learn itself, ...), its
`signature`, where it came from (`run_id`, `model_id`, `artifact_path`), when it was made
(`utc_time_created`, `model_uuid`), its input example, and the files each flavor reads.
MLflow's field names are kept so that MLflow reads what mltop writes and the other way
round; `mlflow_version` is left out (mltop is not MLflow).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltop.models.errors import ModelFormatError
from mltop.models.signature import ModelSignature, Schema, SignatureError

if TYPE_CHECKING:
    from mltop.models.logging import ModelInfo

MLMODEL = "MLmodel"
PYFUNC = "python_function"
MAX_MLMODEL_BYTES = 4 << 20  # an MLmodel is kilobytes; a bigger one is not read

# The keys MLflow writes that mltop keeps as they are (read, and written back).
_KNOWN = (
    "artifact_path",
    "flavors",
    "metadata",
    "model_id",
    "model_size_bytes",
    "model_uuid",
    "run_id",
    "saved_input_example_info",
    "signature",
    "utc_time_created",
)


class Model:
    """An MLmodel's contents. `flavors` maps each flavor's name to its settings."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        model_id: str | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or str(
            datetime.now(timezone.utc).replace(tzinfo=None)
        )
        self.flavors: dict[str, dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.model_id = model_id
        self.extra = extra  # settings another writer added (MLflow's own, ...): kept

    # -- flavors and schemas -------------------------------------------------------------

    def add_flavor(self, name: str, **settings: Any) -> Model:
        self.flavors[name] = settings
        return self

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> Any:
        return self.signature.params if self.signature is not None else None

    def get_model_info(self) -> ModelInfo:
        """This MLmodel as a `ModelInfo` (what `log_model` returns), as MLflow's
        `Model.get_model_info()`: `model_uri` is `models:/<model_id>` for a logged model,
        else `runs:/<run_id>/<artifact_path>` (empty for a folder saved outside any run)."""
        from mltop.models.logging import ModelInfo

        if self.model_id:
            uri = f"models:/{self.model_id}"
        elif self.run_id:
            uri = f"runs:/{self.run_id}/{self.artifact_path or ''}"
        else:
            uri = ""
        return ModelInfo(
            name=self.artifact_path or "",
            model_id=self.model_id or "",
            model_uri=uri,
            run_id=self.run_id,
            artifact_path=self.artifact_path or "",
            flavors=self.flavors,
            model_uuid=self.model_uuid,
            utc_time_created=self.utc_time_created,
            signature=self.signature,
            saved_input_example_info=self.saved_input_example_info,
            metadata=self.metadata,
        )

    @property
    def loader_module(self) -> str | None:
        conf = self.flavors.get(PYFUNC)
        return str(conf.get("loader_module")) if conf and conf.get("loader_module") else None

    # -- the file ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: value for key, value in self.extra.items()}
        out.update(
            flavors=self.flavors,
            model_uuid=self.model_uuid,
            utc_time_created=self.utc_time_created,
            model_id=self.model_id,
        )
        for key in ("artifact_path", "run_id", "metadata", "saved_input_example_info"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.model_size_bytes is not None:
            out["model_size_bytes"] = self.model_size_bytes
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        return out

    def to_yaml(self) -> str:
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when built with it
        return str(yaml.dump(self.to_dict(), Dumper=dumper, default_flow_style=False))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the MLmodel file (`path` is the file, or its folder)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL
        target.write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Model:
        if not isinstance(values, Mapping):
            raise ModelFormatError("MLmodel is not a mapping of settings (flavors, ...)")
        flavors = values.get("flavors")
        if not isinstance(flavors, Mapping) or not flavors:
            raise ModelFormatError("MLmodel names no flavors")
        for name, settings in flavors.items():
            if not isinstance(name, str) or not isinstance(settings, Mapping):
                raise ModelFormatError(f"MLmodel's flavor {name!r} is not a mapping of settings")
        signature = None
        if values.get("signature") is not None:
            if not isinstance(values["signature"], Mapping):
                raise ModelFormatError("MLmodel's signature is not a mapping")
            try:
                signature = ModelSignature.from_dict(values["signature"])
            except SignatureError as error:
                raise ModelFormatError(f"MLmodel's signature cannot be read: {error}") from None
        extra = {key: value for key, value in values.items() if key not in _KNOWN}
        info = values.get("saved_input_example_info")
        size = values.get("model_size_bytes")
        return cls(
            artifact_path=_text(values.get("artifact_path")),
            run_id=_text(values.get("run_id")),
            utc_time_created=_text(values.get("utc_time_created")),
            flavors={str(name): dict(settings) for name, settings in flavors.items()},
            signature=signature,
            saved_input_example_info=dict(info) if isinstance(info, Mapping) else None,
            model_uuid=_text(values.get("model_uuid")),
            metadata=values.get("metadata") if isinstance(values.get("metadata"), dict) else None,
            model_size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
            model_id=_text(values.get("model_id")),
            **extra,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read the MLmodel in the folder `path` (or the file itself). ModelFormatError says
        what is wrong with a missing or malformed file."""
        import yaml

        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL
        try:
            size = target.stat().st_size
            if size > MAX_MLMODEL_BYTES:
                raise ModelFormatError(f"{target} is larger than {MAX_MLMODEL_BYTES:,} bytes")
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelFormatError(
                f"no MLmodel file in {target.parent}: not a model folder"
            ) from None
        except UnicodeDecodeError:
            raise ModelFormatError(f"{target} is not UTF-8 text") from None
        except OSError as error:
            raise ModelFormatError(f"cannot read {target}: {error.strerror or error}") from None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelFormatError(f"{target} is not valid YAML: {problem}") from None
        return cls.from_dict(values)

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, model_id={self.model_id!r})"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
