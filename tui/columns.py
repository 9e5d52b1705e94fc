"""The runs table's columns: which there are, their default order, and the user's choice.

Every view has the run's attributes, a column per param, and per metric its latest value;
each metric also offers its best so far, its min and its max with the step that first
reached it, for the user to show (`C`, the column picker). By default the metric and param
columns follow how many of the runs shown have them, the sparse ones last. What the user
chose (the columns shown, in order, and those hidden) is kept per experiment (and for "All
experiments") in `columns.json` in the store's folder, so that it is there next time.

The file is the user's: if it cannot be read (not JSON, not ours, unreadable), the defaults
apply and it is left as it is, until the user chooses columns again; it is then kept as
`columns.json.bad` beside the new one. Keys in it are data: nothing in it is interpreted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mltop.tui.text import clean

PREFS_FILE = "columns.json"
RESET = "reset"  # the column picker's answer for "back to the defaults"
ALL = "all"  # the key of "All experiments" in the file
SPARSE = 0.5  # a column on fewer than this share of the runs shown goes last
MAX_REMEMBERED = 1000  # column ids kept per experiment (a sweep may log thousands of keys)
MAX_FILE_BYTES = 4_000_000  # a larger file is not read (it would hold the screen up)


@dataclass(frozen=True)
class Column:
    kind: str  # attribute, metric, param
    key: str  # for attributes: status, name, started, duration, mark, experiment
    label: str
    stat: str = ""  # metrics: "" the latest value, "min" or "max" the best so far

    @property
    def order_key(self) -> str | None:
        """The search order_by identifier sorting by this column, if any."""
        if self.kind == "metric":
            name = f"metrics.`{self.key}`"
            return f"{self.stat}({name})" if self.stat else name
        if self.kind == "param":
            return f"params.`{self.key}`"
        return {
            "status": "attributes.status",
            "name": "attributes.run_name",
            "started": "start_time",
            "duration": "attributes.duration",
        }.get(self.key)

    @property
    def id(self) -> str:
        """How the column is remembered: `metric:loss`, `metric.min:loss`, `param:lr`."""
        return f"{self.kind}{'.' + self.stat if self.stat else ''}:{self.key}"


MARK = Column("attribute", "mark", " ")
ATTRIBUTES = [MARK] + [
    Column("attribute", key, key) for key in ("status", "name", "started", "duration")
]
EXPERIMENT = Column("attribute", "experiment", "experiment")
# Running runs' GPU utilisation now (`tui/alerts.py`: gpu_now): shown when a run of the view
# was sampled. Not sortable: no stored value is it (each GPU's own metric is, in the picker).
GPU = Column("attribute", "gpu", "GPU")
SYSTEM = "system/"  # the sampler's keys: offered, not shown by default (ten of them a GPU)


def attributes(experiments: bool) -> list[Column]:
    """The attribute columns; with `experiments` (a view of several), the experiment's
    name after the run's."""
    cols = list(ATTRIBUTES)
    if experiments:
        cols.insert(3, EXPERIMENT)
    return cols


def metric_column(key: str, stat: str, both: bool) -> Column:
    label = clean(f"metrics.{key}" if both else key)
    return Column("metric", key, f"{stat}({label})" if stat else label, stat)


def data_columns(
    metrics: dict[str, int], params: dict[str, int], shown: int
) -> tuple[list[Column], list[Column]]:
    """The metric and param columns for keys counted in how many of `shown` runs have
    them: those shown by default, dense before sparse, then by count and name; and those
    offered besides (each metric's min and max, and the sampler's `system/` metrics)."""
    both = set(metrics) & set(params)

    def rank(kind: int, key: str, count: int) -> tuple:
        return (count < SPARSE * shown, kind, -count, key)

    ranked = sorted(
        [rank(0, k, n) for k, n in metrics.items() if not k.startswith(SYSTEM)]
        + [rank(1, k, n) for k, n in params.items()]
    )
    default = [
        metric_column(key, "", key in both)
        if kind == 0
        else Column("param", key, clean(f"params.{key}" if key in both else key))
        for _sparse, kind, _n, key in ranked
    ]
    extra = [metric_column(k, stat, k in both) for k in sorted(metrics) for stat in ("min", "max")]
    system = [metric_column(k, "", k in both) for k in sorted(metrics) if k.startswith(SYSTEM)]
    return default, system + extra


Picked = list[tuple[Column, bool]]  # the column picker's answer: columns in order, shown or not


@dataclass
class Choice:
    """The user's columns for one experiment: those shown, in order, and those hidden;
    columns in neither (keys new since) show after the chosen ones, in default order."""

    shown: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)


def arrange(
    default: Sequence[Column], extra: Sequence[Column], choice: Choice | None
) -> list[Column]:
    """The columns to show: the mark first, then as chosen (or by default)."""
    data = [c for c in default if c is not MARK]
    if choice is None:
        return [MARK, *data]
    by_id = {c.id: c for c in [*data, *extra]}
    chosen = [by_id[i] for i in dict.fromkeys(choice.shown) if i in by_id]
    taken = set(choice.shown) | set(choice.hidden)
    rest = [c for c in data if c.id not in taken]
    return [MARK, *chosen, *rest]


def count_keys(runs: Iterable[object]) -> tuple[dict[str, int], dict[str, int], int]:
    """How many of `runs` (RunRows) have each metric and each param, and how many runs."""
    metrics: dict[str, int] = {}
    params: dict[str, int] = {}
    total = 0
    for run in runs:
        total += 1
        for key in run.metrics:  # type: ignore[attr-defined]
            metrics[key] = metrics.get(key, 0) + 1
        for key in run.params:  # type: ignore[attr-defined]
            params[key] = params.get(key, 0) + 1
    return metrics, params, total


class ColumnPrefs:
    """The choices of one store, read from and written to its folder."""

    def __init__(self, folder: Path | None) -> None:
        self.path = None if folder is None else folder / PREFS_FILE
        self.choices: dict[str, Choice] = {}
        self.problem: str | None = None  # why the file could not be read, if it could not
        self.moved_aside: Path | None = None  # where an unreadable file was put, once it was
        self._unreadable = False

    def load(self) -> None:
        self.choices, self.problem, self._unreadable = {}, None, False
        if self.path is None:
            return
        try:
            with self.path.open("rb") as file:
                raw = file.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return
        except OSError as error:
            self._fail(f"cannot read {self.path}: {error}")
            return
        if len(raw) > MAX_FILE_BYTES:
            self._fail(f"{self.path} is over {MAX_FILE_BYTES:,} bytes: default columns shown")
            return
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
            self._fail(f"{self.path} is not JSON ({error}): default columns shown")
            return
        experiments = data.get("experiments") if isinstance(data, dict) else None
        if not isinstance(experiments, dict):
            self._fail(f"{self.path} is not a column choice of mltop: default columns shown")
            return
        for key, value in experiments.items():
            if not isinstance(value, dict):
                continue
            shown, hidden = value.get("shown"), value.get("hidden")
            self.choices[str(key)] = Choice(_ids(shown), _ids(hidden))

    def _fail(self, message: str) -> None:
        self.problem, self._unreadable = message, True

    def get(self, experiment: str | None) -> Choice | None:
        return self.choices.get(ALL if experiment is None else experiment)

    def set(self, experiment: str | None, choice: Choice | None) -> None:
        """Remember `choice` (None: back to the defaults) and write the file. Raises
        OSError when it cannot be written (the choice holds for this session)."""
        key = ALL if experiment is None else experiment
        if self.path is not None and not self._unreadable:
            # Another dashboard on this store may have chosen since: keep its choices.
            mine = self.choices
            self.load()
            if self._unreadable:
                self.choices = mine
            else:
                self.choices = {**mine, **self.choices}
        if choice is None:
            self.choices.pop(key, None)
        else:
            self.choices[key] = Choice(
                choice.shown[:MAX_REMEMBERED], choice.hidden[:MAX_REMEMBERED]
            )
        if self.path is None:
            return
        if self._unreadable and self.path.exists():
            self.moved_aside = _aside(self.path)
            os.replace(self.path, self.moved_aside)  # kept, not lost
            self._unreadable = False
        data = {
            "version": 1,
            "experiments": {
                k: {"shown": c.shown, "hidden": c.hidden} for k, c in sorted(self.choices.items())
            },
        }
        folder = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=".columns-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, ensure_ascii=False)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # as any file of the store, not mkstemp's 0600
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _aside(path: Path) -> Path:
    """A free name beside `path` for it: columns.json.bad, else .bad.1, .bad.2..."""
    aside = path.with_name(path.name + ".bad")
    number = 0
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.bad.{number}")
    return aside


def _ids(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)][:MAX_REMEMBERED]
