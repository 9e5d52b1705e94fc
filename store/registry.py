"""The model registry's rules, the same whatever stores it: stage names, model and
alias names, when a move must say why, what a transition plan is and how it reads, and
the sources a version is registered from (`runs:/<run_id>/path`, MLflow 3's logged model
`models:/<model_id>`, another version's `models:/NAME/...`). The registry itself (models,
versions, stages, aliases and the append-only transition log, each change one
transaction) is the backend's: `sqlite/registry.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import SupportsInt

from mltop.store import keys
from mltop.store.entities import STAGES, Run, TransitionRecord
from mltop.store.errors import (
    CommentRequiredError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    PlanChangedError,
    PolicyError,
    ValidationError,
)
from mltop.store.query import policy

PRODUCTION, STAGING, ARCHIVED = "Production", "Staging", "Archived"
# The log's kinds besides stage moves ("transition", "rollback") and alias changes
# ("alias_set", "alias_delete"): a model renamed (the row carries the name it had before;
# the rows after it, or the model itself, carry the new one), a version deleted (its
# from_stage: the stage it was in), and a model deleted (after a row for each of its
# versions). The rows about the model itself have version MODEL_ROW.
RENAME, DELETE_VERSION, DELETE_MODEL = "rename", "delete_version", "delete_model"
MODEL_ROW = 0
_ALIAS = re.compile(r"^[\w-]+$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_RUNS_URI = re.compile(r"^runs:/([0-9a-fA-F]+)(?:/(.*))?$")
_LOGGED_MODEL_URI = re.compile(r"^models:/([^/@]+)/?$")


@dataclass(frozen=True)
class ModelLog:
    """The log of one model that has been called a name: its name now (or when it was
    deleted), whether it was deleted, and its rows, oldest first."""

    name: str
    deleted: bool
    records: tuple[TransitionRecord, ...]


def canonical_stage(stage: object) -> str:
    """`production`, `PRODUCTION` -> `Production`; anything else is an error listing them."""
    if isinstance(stage, str):
        for name in STAGES:
            if stage.strip().lower() == name.lower():
                return name
    raise InvalidValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")


def validate_model_name(name: object) -> str:
    keys.validate_name(name, "model name", 256)
    assert isinstance(name, str)
    if "/" in name or ":" in name:
        raise ValidationError(f"model name {name!r} may not contain '/' or ':'")
    return name


def validate_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or len(alias) > 255:
        raise ValidationError(f"alias {alias!r} must be 1 to 255 letters, digits, '_' or '-'")
    if _RESERVED_ALIAS.match(alias):
        raise ValidationError(f"alias {alias!r} is reserved ('latest' and 'v<number>' are)")
    return alias


def comment_required(plan: TransitionPlan, *, force: bool = False) -> bool:
    """Whether a move must say why: one that changes what is in Production (into it, a
    rollback included, or out of it), or a forced one."""
    return force or PRODUCTION in (plan.to_stage, plan.from_stage)


def require_comment(plan: TransitionPlan, comment: str | None, *, force: bool = False) -> str:
    """The comment, stripped; CommentRequiredError when the move must say why and it is
    blank. The registry enforces this; the CLI and the dialog ask it first, so that their
    wording is this one."""
    comment = (comment or "").strip()
    if comment or not comment_required(plan, force=force):
        return comment
    if force:
        raise CommentRequiredError("a forced move needs a comment saying why")
    if plan.rollback:
        raise CommentRequiredError(
            "a rollback needs a comment saying why (it changes what is in Production)"
        )
    if plan.to_stage == PRODUCTION:
        raise CommentRequiredError("a move to Production needs a comment saying why")
    raise CommentRequiredError(
        "a move out of Production needs a comment saying why (it changes what is in Production)"
    )


def run_id_of(source: str) -> str | None:
    """The run id in a `runs:/<run_id>/path` source, else None."""
    match = _RUNS_URI.match(source)
    return match.group(1).lower() if match else None


def logged_model_id_of(source: str) -> str | None:
    """The model id in a logged model's `models:/<model_id>` source (MLflow 3's form, one
    part: a registered model's URI has two, `models:/NAME/VERSION`, or an `@`), else None."""
    match = _LOGGED_MODEL_URI.match(source)
    return match.group(1) if match else None


def is_registered_model_uri(source: str) -> bool:
    """Whether `source` names a registered model's version (`models:/NAME/VERSION`,
    `/STAGE`, `/latest`, `@ALIAS`) rather than a logged model or files."""
    return source.startswith("models:/") and logged_model_id_of(source) is None


@dataclass(frozen=True)
class TransitionPlan:
    """What a transition would do, computed without changing anything."""

    name: str
    version: int
    from_stage: str
    to_stage: str
    archives: tuple[int, ...]  # versions that would move to Archived
    policy: policy.PolicyResult | None  # checked when entering Production under a policy
    rollback: bool = False

    @property
    def blocked(self) -> bool:
        return self.policy is not None and not self.policy.passed

    def describe(self, *, done: bool = False) -> str:
        """The move in words; `done`: as made, not as planned."""
        what = "rolled back: " if done and self.rollback else "roll back: " if self.rollback else ""
        text = f"{what}{self.name} v{self.version}: {self.from_stage} → {self.to_stage}"
        if self.archives:
            listed = ", ".join(f"v{v}" for v in self.archives)
            held = self.to_stage
            text += f"; {listed} ({held}) {'archived' if done else 'will be archived'}"
        return text

    def same_move(self, other: TransitionPlan) -> bool:
        """Whether `other` moves the same version between the same stages, archives the
        same versions and meets the policy as this one does: what a user confirmed."""
        return (
            self.name,
            self.version,
            self.from_stage,
            self.to_stage,
            self.archives,
            self.rollback,
            self.blocked,
            self.policy.expression if self.policy else None,
        ) == (
            other.name,
            other.version,
            other.from_stage,
            other.to_stage,
            other.archives,
            other.rollback,
            other.blocked,
            other.policy.expression if other.policy else None,
        )


def version_number(version: object) -> int:
    text = str(version).strip().lstrip("vV") if isinstance(version, str) else version
    if not isinstance(text, str | SupportsInt):
        raise ValidationError(f"{version!r} is not a version number")
    try:
        number = int(text)
    except (TypeError, ValueError):
        raise ValidationError(f"{version!r} is not a version number") from None
    if isinstance(version, bool) or number < 1:
        raise ValidationError(f"{version!r} is not a version number")
    if number > 2**63 - 1:  # no such version, nor one SQLite can hold
        raise NotFoundError(f"no version {version!r}")
    return number


# -- the rules of a move, over facts a backend reads inside its write transaction ---------


def plan_move(
    *,
    name: str,
    version: int,
    from_stage: str,
    to_stage: str,
    archive_existing: bool | None,
    in_stage: Callable[[str], Iterable[int]],
    policy_text: str | None,
    source_run: Callable[[], Run],
    rollback: bool = False,
) -> TransitionPlan:
    """What moving `name` v`version` from `from_stage` to `to_stage` does: which versions
    it archives (those `in_stage(to_stage)` lists, when archiving; by default only a move
    into Production archives) and, entering Production under a policy, the policy's
    verdict on the version's run (`source_run()`, read only then)."""
    if from_stage == to_stage:
        raise InvalidStateError(f"{name} v{version} is already in {to_stage}")
    if archive_existing is None:
        archive_existing = to_stage == PRODUCTION
    archives: tuple[int, ...] = ()
    if archive_existing and to_stage in (PRODUCTION, STAGING):
        archives = tuple(sorted(v for v in in_stage(to_stage) if v != version))
    result = None
    if to_stage == PRODUCTION and policy_text:
        result = policy.check(policy_text, source_run())
    return TransitionPlan(name, version, from_stage, to_stage, archives, result, rollback)


def check_move(
    plan: TransitionPlan,
    comment: str | None,
    *,
    force: bool = False,
    expected: TransitionPlan | None = None,
) -> str:
    """The gate every move passes, planned afresh inside its transaction: still the move
    the user confirmed (`expected`; PlanChangedError), a comment where one is needed
    (CommentRequiredError), the policy met unless forced (PolicyError; a rollback restores
    a version that was live and is never blocked). Returns the comment to record."""
    if expected is not None and not plan.same_move(expected):
        raise PlanChangedError(
            f"the registry changed since the move was planned: it would now be "
            f"{plan.describe()!r}, not {expected.describe()!r}. Nothing was done.",
            plan,
        )
    comment = require_comment(plan, comment, force=force)
    if plan.blocked and not force and not plan.rollback:
        assert plan.policy is not None
        failing = "; ".join(c.describe() for c in plan.policy.failing())
        raise PolicyError(
            f"{plan.name} v{plan.version} cannot enter Production: the policy "
            f"{plan.policy.expression!r} fails on {failing}. Force it with a comment "
            "to override.",
            plan.policy,
        )
    return comment


def rollback_target(
    name: str, current: int | None, entered_production: Iterable[int], registered: set[int]
) -> int:
    """The version a rollback puts back: the latest to have entered Production (of
    `entered_production`, newest first) other than the `current` one and still registered."""
    if current is None:
        raise InvalidStateError(f"{name} has no version in Production to roll back")
    for version in entered_production:
        if version != current and version in registered:
            return version
    raise InvalidStateError(
        f"{name} has no earlier Production version (still registered) to roll back to"
    )


# -- model URIs ---------------------------------------------------------------------------

_URI_FORMS = "models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME/latest or models:/NAME@ALIAS"


@dataclass(frozen=True)
class ModelUri:
    """A `models:/` URI taken apart: the model's name and one of a version number, the
    latest version, an alias, or a stage (as written: a backend checks it is one once the
    model is found, so that an unknown model is said first)."""

    name: str
    version: int | None = None
    latest: bool = False
    alias: str | None = None
    stage: str | None = None


def parse_model_uri(uri: object) -> ModelUri:
    """`models:/NAME/VERSION`, `models:/NAME/STAGE`, `models:/NAME/latest` or
    `models:/NAME@ALIAS`, taken apart; ValidationError for anything else."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise ValidationError(f"{uri!r} is not a model URI: expected {_URI_FORMS}")
    rest = uri[len("models:/") :]
    if "@" in rest and "/" not in rest:
        name, alias = rest.split("@", 1)
        return ModelUri(name, alias=alias)
    if rest.count("/") != 1:
        raise ValidationError(f"{uri!r} is not a model URI: expected {_URI_FORMS}")
    name, which = rest.split("/")
    if which.isdigit():
        return ModelUri(name, version=int(which))
    if which.lower() == "latest":
        return ModelUri(name, latest=True)
    return ModelUri(name, stage=which)
