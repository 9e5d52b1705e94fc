"""The System tab of a run: its `system/` metrics charted in groups, and its GPU memory.

The sampler (`mltop.store.system_metrics`) logs MLflow's `system/` keys; here they are
charted a group per chart, one line per key of the group (CPU, memory, GPU utilisation of
every GPU on one chart, GPU memory, temperature, power, disk, network), against the time
since the run started. A small table says how much memory the run's own processes hold on
each GPU (the latest `system/gpu_<i>_process_memory_megabytes`) beside the GPU's own use. It
reads as the charts tab does: each line's history once, then the points after its cursor,
in a thread worker, when the run changes and only while the tab is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from mltop.store import MetricSummary, TrackingStore
from mltop.tui.downsample import Series
from mltop.tui.history import ChartData, chart_data
from mltop.tui.text import clean, number
from mltop.tui.widgets.metric_chart import ChartGrid, Line, Plot, series_lines
from mltop.tui.workers import OneAtATime, store_work

SYSTEM_PREFIX = "system/"  # the sampler's keys (mltop.store.system_metrics: not imported, psutil)
MOST_KEYS = 1000  # system keys read: 8 GPUs log 7 keys each, beside 8 others
EMPTY = (
    "No system metrics: start the run with log_system_metrics=True or under `mltop run`.\n"
    "(GPU metrics need NVIDIA's NVML: pip install mltop[gpu].)"
)
MARKERS = ["braille", "•", "x", "+", "o", "*", "#", "@"]
PALETTE = [
    (78, 154, 241), (241, 163, 78), (92, 201, 107), (232, 87, 90),
    (176, 124, 232), (201, 163, 107), (232, 124, 195), (78, 214, 214),
]  # fmt: skip


@dataclass(frozen=True)
class Group:
    """A chart: the keys matching `pattern`, each line labelled by `label` of its match."""

    title: str
    pattern: re.Pattern[str]
    label: Callable[[re.Match[str]], str]


def _gpu(match: re.Match[str]) -> str:
    return f"gpu {match[1]}"


GROUPS = [
    Group("CPU %", re.compile(r"system/cpu_utilization_percentage"), lambda m: "cpu"),
    Group("memory %", re.compile(r"system/system_memory_usage_percentage"), lambda m: "used"),
    Group("GPU utilisation %", re.compile(r"system/gpu_(\d+)_utilization_percentage"), _gpu),
    Group(
        "GPU memory MB",
        re.compile(r"system/gpu_(\d+)_(memory_usage|process_memory)_megabytes"),
        lambda m: f"gpu {m[1]}" + (" this run" if m[2] == "process_memory" else ""),
    ),
    Group("GPU temperature °C", re.compile(r"system/gpu_(\d+)_temperature_celsius"), _gpu),
    Group("GPU power W", re.compile(r"system/gpu_(\d+)_power_usage_watts"), _gpu),
    Group("disk %", re.compile(r"system/disk_usage_percentage"), lambda m: "used"),
    Group(
        "network MB since start",
        re.compile(r"system/network_(receive|transmit)_megabytes"),
        lambda m: "received" if m[1] == "receive" else "sent",
    ),
]
PROCESS_MEMORY = re.compile(r"system/gpu_(\d+)_process_memory_megabytes")


def _order(key: str) -> tuple[int, str]:
    """Keys with a GPU's number in order of it (gpu_10 after gpu_9)."""
    found = re.search(r"gpu_(\d+)_", key)
    return (int(found[1]) if found else -1, key)


def grouped(keys: list[str]) -> list[tuple[Group, list[tuple[str, str]]]]:
    """The groups that have keys, in GROUPS' order, each with its (key, label) lines."""
    out = []
    for group in GROUPS:
        lines = []
        for key in sorted(keys, key=_order):
            match = group.pattern.fullmatch(key)
            if match:
                lines.append((key, group.label(match)))
        if lines:
            out.append((group, lines))
    return out


def gpu_memory_table(summaries: dict[str, MetricSummary]) -> Text:
    """Per GPU the run holds memory on: the run's memory, and the GPU's in all."""
    gpus = sorted(
        (int(m[1]), s.value) for key, s in summaries.items() if (m := PROCESS_MEMORY.fullmatch(key))
    )
    if not gpus:
        return Text()
    out = Text("GPU   this run's memory   GPU memory used", style="bold")
    for gpu, held in gpus:
        used = summaries.get(f"{SYSTEM_PREFIX}gpu_{gpu}_memory_usage_megabytes")
        share = summaries.get(f"{SYSTEM_PREFIX}gpu_{gpu}_memory_usage_percentage")
        whole = "" if used is None else f"{number(used.value)} MB"
        if share is not None:
            whole += f" ({number(share.value)} %)"
        out.append(f"\n{gpu:>3}   {number(held) + ' MB':>17}   {whole}")
    return out


@dataclass
class SystemLoaded(Message):
    summaries: dict[str, MetricSummary]
    charts: dict[str, ChartData]
    start_time: int | None


class SystemChart(Plot):
    """A group of system metrics: a line per key, each with its marker and colour."""

    DEFAULT_CSS = "SystemChart { height: 1fr; min-height: 5; }"

    def __init__(self, group: Group) -> None:
        super().__init__(classes="system-chart")
        self.group = group
        self.x_axis = "elapsed"
        self.origin: float | None = None
        self.lines: list[tuple[str, str, Series, float | None]] = []  # key, label, ...

    def show(self, lines: list[tuple[str, str, Series, float | None]]) -> None:
        self.lines = lines
        self.changed()

    def title(self) -> Text:
        return Text(self.group.title, style="bold")

    def points(self) -> int:
        return sum(len(series) for _key, _label, series, _latest in self.lines)

    def chart_lines(self, columns: int) -> list[Line]:
        return [
            series_lines(
                series, columns, self.x_axis, self.origin, log=self.log_scale,
                with_points=self.cursor is not None, label=clean(label),
                marker=MARKERS[i % len(MARKERS)], colour=PALETTE[i % len(PALETTE)],
                latest=latest,
            )[0]
            for i, (_key, label, series, latest) in enumerate(self.lines)
        ]  # fmt: skip


class SystemView(Vertical):
    """The System tab's content: read when shown, followed while shown."""

    DEFAULT_CSS = """
    SystemView { height: 1fr; }
    SystemView #system-empty { padding: 1 2; color: $text-muted; height: auto; }
    SystemView #gpu-memory { padding: 0 1; height: auto; }
    SystemView #system-charts { grid-size: 2; grid-gutter: 0 2; height: 1fr; }
    SystemView #system-charts.single { grid-size: 1; }
    """

    def __init__(self, store: TrackingStore, run_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.run_id = run_id
        self.cursors: dict[str, int] = {}
        self.series: dict[str, Series] = {}
        self.summaries: dict[str, MetricSummary] = {}
        self.shown = False  # its tab is shown: it reads
        self.stale = True  # the run changed while it was hidden
        self.loaded = False  # read once at least
        self.start_time: int | None = None  # the run's, in ms: the time axis' zero
        self.load = OneAtATime(self._start_read)

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the system metrics…"), id="system-empty")
        yield Static(Text(), id="gpu-memory")
        yield ChartGrid(id="system-charts")

    # -- reading ---------------------------------------------------------------------------

    def set_shown(self, shown: bool) -> None:
        """Its tab was shown (read what changed meanwhile) or hidden (read nothing)."""
        self.shown = shown
        if shown and self.stale:
            self.follow()

    def follow(self) -> None:
        """The run changed: read what is new, now if shown, else once shown."""
        self.stale = True
        if self.shown:
            self.stale = False
            self.load()

    def reload(self) -> None:
        """Read every history whole again (the store works again, or is another file)."""
        self.cursors.clear()
        self.series.clear()
        self.follow()

    def _start_read(self) -> Worker[Any]:
        # What each line holds: a line whose key logged nothing since is not read again.
        counts = {key: s.count for key, s in self.summaries.items() if key in self.cursors}
        return self._read(
            self.store, self.run_id, dict(self.cursors), counts, self.start_time is None
        )

    @store_work(group="system")
    def _read(
        store: TrackingStore,
        run_id: str,
        cursors: dict[str, int],
        counts: dict[str, int],
        first: bool,
    ) -> SystemLoaded:
        start = store.get_run(run_id, max_metrics=0).info.start_time if first else None
        summaries, _total = store.search_run_metrics(run_id, SYSTEM_PREFIX, limit=MOST_KEYS)
        summaries = {k: s for k, s in summaries.items() if k.startswith(SYSTEM_PREFIX)}
        charted = [key for _group, lines in grouped(list(summaries)) for key, _label in lines]
        charts = {
            key: chart_data(store, run_id, key, cursors.get(key))
            for key in charted
            if counts.get(key) != summaries[key].count
        }
        return SystemLoaded(summaries, charts, start)

    @on(Worker.StateChanged)
    def _read_ended(self, event: Worker.StateChanged) -> None:
        event.stop()  # (the screen's own reads have their own)
        self.load.ended(event.worker)

    def on_system_loaded(self, message: SystemLoaded) -> None:
        message.stop()
        self.loaded = True
        if message.start_time is not None:
            self.start_time = message.start_time
        self.summaries = message.summaries
        for key, data in message.charts.items():
            if data.series is not None:
                self.series[key] = data.series
            elif data.points:
                self.series.setdefault(key, Series()).add(data.points)
            self.cursors[key] = data.cursor
        self._show()

    # -- drawing ---------------------------------------------------------------------------

    def _show(self) -> None:
        groups = grouped(list(self.summaries))
        empty = self.query_one("#system-empty", Static)
        empty.display = not groups
        if not groups:
            empty.update(Text(EMPTY))
        self.query_one("#gpu-memory", Static).update(gpu_memory_table(self.summaries))
        grid = self.query_one("#system-charts", ChartGrid)
        charts = {chart.group.title: chart for chart in self.query(SystemChart)}
        origin = None if self.start_time is None else self.start_time / 1000
        order = [group.title for group, _lines in groups]
        for group, lines in groups:
            chart = charts.get(group.title)
            if chart is None:
                # In GROUPS' order: before the first chart that comes after it.
                later = [t for t in order[order.index(group.title) + 1 :] if t in charts]
                chart = charts[group.title] = SystemChart(group)
                grid.mount(chart, before=charts[later[0]] if later else None)
            chart.origin = origin
            chart.show(
                [
                    (key, label, self.series.get(key) or Series(), summary.value)
                    for key, label in lines
                    for summary in [self.summaries[key]]
                ]
            )
        grid.fit(len(groups))

    def charts(self) -> list[SystemChart]:
        return list(self.query(SystemChart))
