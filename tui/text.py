"""Showing user-provided text safely: never as Rich markup, never as terminal escapes."""

from __future__ import annotations

import math
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from mltop.store.entities import RunInfo

# C0 controls, DEL and C1 controls become visible \xNN escapes: a run name holding an
# escape sequence must not move the cursor, change colours or retitle the terminal. The
# bidirectional overrides and isolates become \uNNNN: they would reorder what follows
# them on screen, so that text reads other than it is.
_CONTROLS = {
    **{c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]},
    **{c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]},
}


def clean(value: object) -> str:
    """The text of `value` with every control character made visible."""
    text = str(value)
    # Most text is printable (no control characters): skip the translation, which costs
    # far more when ten thousand rows are formatted at once.
    return text if text.isprintable() else text.translate(_CONTROLS)


# What a text box (Textual's Input, as `restrict`) takes: no character that `clean` makes
# visible. A box shows its text as it is, so a paste holding one is refused whole.
TYPABLE = "[^" + "".join(map(chr, _CONTROLS)) + "]*"

_CONTROLS_IN_TEXT = {c: e for c, e in _CONTROLS.items() if c not in (0x09, 0x0A)}


def clean_text(value: str) -> str:
    """Like `clean`, for a file's text: lines and tabs stay, other controls become visible."""
    return value.replace("\r\n", "\n").translate(_CONTROLS_IN_TEXT)


def file_size(nbytes: int | None) -> str:
    if nbytes is None:
        return ""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def plain(value: object, style: str = "") -> Text:
    """A Rich Text showing `value` literally (no markup parsing, no escapes)."""
    return Text(clean(value), style=style)


def number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _local(ms: int) -> datetime | None:
    """The local time `ms` stands for; None for a value no calendar holds (a store written
    before times were checked may have them)."""
    try:
        return datetime.fromtimestamp(ms / 1000)
    except (OverflowError, OSError, ValueError):
        return None


def timestamp(ms: int | None) -> str:
    if ms is None:
        return ""
    when = _local(ms)
    return f"{ms} ms" if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def ago(ms: int | None, now_ms: int) -> str:
    """A short relative time: `42s ago`, `5m ago`, `3h ago`, `2d ago`, then the date."""
    if ms is None:
        return ""
    seconds = max(0, (now_ms - ms) // 1000)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            if unit == "d" and seconds >= 30 * 86400:
                when = _local(ms)
                return f"{ms} ms" if when is None else when.strftime("%Y-%m-%d")
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def ended(info: RunInfo) -> int | None:
    """When a run ended: its end time; for a LOST run, its last heartbeat (its process is
    gone: the clock no longer adds to its duration)."""
    return info.heartbeat_time if info.lost and info.end_time is None else info.end_time


def duration(start_ms: int | None, end_ms: int | None, now_ms: int) -> str:
    if start_ms is None:
        return ""
    seconds = max(0, ((end_ms if end_ms is not None else now_ms) - start_ms) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def json_number(value: float) -> float | str:
    """JSON has no NaN or infinity: those become the strings "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def cut_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle with an ellipsis: keys that differ
    only at their end (a long prefix, then `_top1`, `_top5`; rows ending in ` min` and
    ` max`) stay told apart."""
    if cell_len(text) <= width:
        return text
    tail = (width - 1) // 2
    end = text[len(text) - tail :] if tail else ""
    while cell_len(end) > tail:
        end = end[1:]
    return set_cell_size(text, width - 1 - cell_len(end)) + "…" + end
