"""Write `tests/data/mlflow_signatures.json`: MLflow's public parameters, read with `ast`.

Run once against MLflow's source (never imported):
    python tests/data/make_mlflow_signatures.py /path/to/mlflow > tests/data/mlflow_signatures.json
The table was made from MLflow 3.17.2: `mlflow/tracking/client.py` (class MlflowClient) as
"client"; as "fluent", the functions `mlflow.*` exports from `mlflow/tracking/fluent.py`
(every public one), `mlflow/tracking/_tracking_service/utils.py` (the tracking URI) and
`mlflow/tracking/_model_registry/fluent.py` (the registry's). Defaults are kept as source
text.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path


def _params(fn: ast.FunctionDef) -> list[dict[str, object]]:
    a = fn.args
    out: list[dict[str, object]] = []
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += list(a.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append(_one(arg.arg, kind, default))
    if a.vararg:
        out.append(_one(a.vararg.arg, "VAR_POSITIONAL", None))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(_one(arg.arg, "KEYWORD_ONLY", default))
    if a.kwarg:
        out.append(_one(a.kwarg.arg, "VAR_KEYWORD", None))
    return out


def _one(name: str, kind: str, default: ast.expr | None) -> dict[str, object]:
    entry: dict[str, object] = {"name": name, "kind": kind}
    if default is not None:
        entry["default"] = ast.unparse(default)
    return entry


def _public(body: list[ast.stmt]) -> dict[str, list[dict[str, object]]]:
    found = {}
    for node in body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            found[node.name] = _params(node)
    return found


def main(root: Path) -> None:
    client = ast.parse((root / "tracking" / "client.py").read_text())
    (cls,) = [n for n in client.body if isinstance(n, ast.ClassDef) and n.name == "MlflowClient"]
    methods = _public(cls.body)
    for params in methods.values():
        if params and params[0]["name"] == "self":
            params.pop(0)
    fluent = _public(ast.parse((root / "tracking" / "fluent.py").read_text()).body)
    for path, names in (
        (("_tracking_service", "utils.py"), ("set_tracking_uri", "get_tracking_uri")),
        (
            ("_model_registry", "fluent.py"),
            (
                "register_model",
                "search_model_versions",
                "search_registered_models",
                "set_model_version_tag",
            ),
        ),
    ):
        found = _public(ast.parse((root / "tracking").joinpath(*path).read_text()).body)
        fluent.update({name: found[name] for name in names})
    table = {"mlflow_version": "3.17.2", "client": methods, "fluent": fluent}
    json.dump(table, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
