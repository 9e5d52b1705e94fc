"""Train a tiny model with three learning rates and log everything to mltop.

Run it, then look at the runs:  python examples/quickstart.py && mltop runs list
"""

import math
import random

from mltop import store as mt

random.seed(0)
data = [(x, 3.0 * x + 0.5 + random.gauss(0, 0.1)) for x in (i / 50 for i in range(200))]

mt.set_experiment("quickstart")
for lr in (0.3, 0.1, 0.01):
    with mt.start_run(run_name=f"linear-lr-{lr}", tags={"model": "linear"}) as run:
        mt.log_params({"lr": lr, "epochs": 30, "optimizer": "sgd"})
        w, b = 0.0, 0.0
        for epoch in range(30):
            random.shuffle(data)
            for x, y in data:
                err = w * x + b - y
                w, b = w - lr * err * x / 10, b - lr * err / 10
            mse = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
            mt.log_metrics({"mse": mse, "rmse": math.sqrt(mse)}, step=epoch)
        mt.log_dict({"w": w, "b": b}, "model/weights.json")
        print(f"{run.info.run_name}: w={w:.3f} b={b:.3f} mse={mse:.4f}")
