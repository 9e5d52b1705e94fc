"""Benchmark: what `mltop run` costs a chatty command, whose output it copies to the
terminal and to the run's console log (with a time entry per line).

    python bench/run_output.py [--lines 1000000] [--repeat 3]

Runs the same command (Python printing LINES lines of ~100 bytes) directly and under
`mltop run`, both with stdout to /dev/null, and prints the median wall time of each, the
ratio, lines per second through mltop, and the sizes of the log and its times file.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """\
import sys
line = ("step {:>8} loss 0.{:06d} lr 3.0e-4 grad_norm 1.2345 throughput 12345.6 samples/s"
        " eta 01:23:45\\n")
write = sys.stdout.write
for i in range(int(sys.argv[-1])):
    write(line.format(i, i % 1000000))
"""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "chatty.py").write_text(SCRIPT)
        direct, through = [], []
        for i in range(args.repeat):
            direct.append(timed([sys.executable, "chatty.py", str(args.lines)], folder))
            store = folder / f"store{i}"
            through.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "mltop.tui.cli",
                        "--store",
                        str(store),
                        "run",
                        "chatty.py",
                        "-P",
                        f"n={args.lines}",
                        "--no-system-metrics",
                    ],
                    folder,
                )
            )
        logs = next((folder / "store0" / "artifacts").iterdir()) / "logs"
        d, t = statistics.median(direct), statistics.median(through)
        print(f"{args.lines:,} lines, median of {args.repeat}")
        print(f"  direct:          {d:.2f} s")
        print(f"  under mltop run: {t:.2f} s  ({args.lines / t:,.0f} lines/s)")
        print(f"  ratio:           {t / d:.2f}x the direct time")
        print(
            f"  log {(logs / 'stdout.log').stat().st_size / 1e6:.0f} MB, "
            f"times {(logs / 'stdout.log.times').stat().st_size / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
