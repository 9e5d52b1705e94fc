"""Check: the system-metrics sampler's GPU readings against nvidia-smi, on a machine with GPUs.

    python bench/gpu_check.py [--store DIR]

Takes one sample with the sampler (`mltop.store.system_metrics`, through NVML) into a
throwaway run, and at the same moment asks `nvidia-smi --query-gpu=utilization.gpu,
memory.used,temperature.gpu,power.draw --format=csv,noheader,nounits`. Prints both per GPU,
with the allowed difference: utilisation within 15 points and power within 15 % (both move
from one instant to the next), memory within 2 % (nvidia-smi says MiB, the sampler MB as
MLflow does: 10**6 bytes), temperature within 3 °C. Exits 1 when a reading is off, 0 when
all agree; without nvidia-smi, NVML (`pip install mltop[gpu]`) or a GPU it says it cannot
check and exits 0.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile

from mltop.store import Store
from mltop.store.system_metrics import Gpus, SystemMetricsSampler

MIB = 1024 * 1024
# (nvidia-smi's column, the sampler's key, how to bring nvidia-smi's value to the key's
# unit, the allowed difference, and whether it is relative)
COLUMNS = [
    ("utilization.gpu", "utilization_percentage", 1.0, 15.0, False),
    ("memory.used", "memory_usage_megabytes", MIB / 1e6, 0.02, True),
    ("temperature.gpu", "temperature_celsius", 1.0, 3.0, False),
    ("power.draw", "power_usage_watts", 1.0, 0.15, True),
]


def cannot(why: str) -> int:
    print(f"cannot check the GPU readings here: {why}")
    return 0


def smi() -> list[list[float | None]]:
    query = ",".join(column for column, *_ in COLUMNS)
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    rows = []
    for line in out.strip().splitlines():
        cells = []
        for cell in line.split(","):
            try:
                cells.append(float(cell))
            except ValueError:  # "[N/A]", "[Not Supported]"
                cells.append(None)
        rows.append(cells)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="a store to write the sample's run to (a temporary one)")
    args = parser.parse_args()
    if shutil.which("nvidia-smi") is None:
        return cannot("nvidia-smi is not on the PATH (no NVIDIA driver)")
    gpus = Gpus()
    count = len(gpus.handles)
    gpus.close()
    if not count:
        return cannot("NVML finds no GPU (is nvidia-ml-py installed? pip install mltop[gpu])")
    with tempfile.TemporaryDirectory() as scratch, Store(args.store or scratch) as store:
        run_id = store.create_run(run_name="gpu-check").info.run_id
        sampler = SystemMetricsSampler(store, run_id, interval=3600)
        sampler.start()
        rows = smi()  # while the sampler takes its first sample
        sampler.stop()
        values = store.get_run(run_id).data.metrics
    off = 0
    print(f"{'gpu':>3}  {'reading':<24} {'sampler':>10} {'nvidia-smi':>11}  agrees")
    for i, row in enumerate(rows):
        for (_column, key, scale, allowed, relative), theirs in zip(COLUMNS, row, strict=True):
            ours = values.get(f"system/gpu_{i}_{key}")
            if theirs is None or ours is None:
                print(f"{i:>3}  {key:<24} {ours!s:>10} {theirs!s:>11}  (not both read)")
                continue
            theirs *= scale
            diff = abs(ours - theirs)
            ok = diff <= (allowed * max(abs(theirs), 1.0) if relative else allowed)
            off += not ok
            print(f"{i:>3}  {key:<24} {ours:>10.1f} {theirs:>11.1f}  {'yes' if ok else 'NO'}")
    if len(rows) != count:
        print(f"NVML sees {count} GPUs, nvidia-smi {len(rows)}")
        off += 1
    print("all readings agree" if not off else f"{off} readings differ")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
