"""The model registry on `MltopClient`, under `MlflowClient`'s method names and parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mltop.store.sqlite.tracking import Store


class RegistryMethods:
    """MlflowClient's model-registry methods (mixed into `MltopClient`)."""

    store: Store
