"""The errors of saving, finding and loading models: each a `MltopError`, with a message
that names the model, the file or the setting at fault."""

from __future__ import annotations

from mltop.store.errors import MltopError, ValidationError


class ModelError(MltopError):
    """A model could not be saved, found or loaded."""


class ModelFormatError(ModelError, ValueError):
    """A model folder that is not a readable MLmodel directory (no MLmodel file, malformed
    YAML, a flavor without the settings it needs)."""


class ModelUriError(ValidationError):
    """A model URI of no form mltop loads, or naming a path outside where it may."""


class IntegrityError(ModelError):
    """A logged model's files differ from those recorded when it was logged."""


class UntrustedModelError(ModelError):
    """A model outside the store, loaded without `allow_outside_store=True`: loading runs
    the code pickled in it."""


class MissingDependencyError(ModelError, ImportError):
    """The library a flavor needs (scikit-learn, cloudpickle, MLflow's own loader) is not
    installed."""


class ModelNotReadyError(ModelError):
    """A logged model still being written (PENDING) or whose logging failed (FAILED)."""
