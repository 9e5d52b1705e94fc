"""Extract the runnable tracking examples from MLflow's own docstrings (test data).

    python tests/data/mlflow_examples/extract.py PATH/TO/site-packages/mlflow

Reads `tracking/client.py` and `tracking/fluent.py` of an MLflow install (3.17.2 made the
committed files) with `ast`, never importing MLflow, and writes each `.. code-block:: python`
example of a function mltop implements to `<module>__<function>__<n>.py`, unchanged but for a
header naming where it came from. Examples that need what mltop leaves to later work (models,
autologging, traces, prompts, stream and table loading) are not extracted.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).parent
ALLOWED_IMPORTS = re.compile(
    r"^(mlflow|mlflow\.entities|mlflow\.tracking|mlflow\.artifacts|time|os|"
    r"tempfile|json|random|pathlib|pprint|numpy|pandas|PIL|"
    r"matplotlib(\..*)?|plotly(\..*)?)$"
)
OUT_OF_SCOPE = (
    "log_model",
    "autolog",
    "prompt",
    "trace",
    "span",
    "logged_model",
    "mlflow.Image",
    "load_table",
    "log_stream",
    "webhook",
    "active_model",
    "dataset(",
    "databricks",
)
SKIPPED_FUNCTIONS = re.compile(
    r".*_datasets?(_tags?)?$|^(add|remove)_dataset_|^copy_model_version$"
)


def blocks(doc: str) -> list[str]:
    found, lines, i = [], doc.split("\n"), 0
    while i < len(lines):
        if lines[i].strip().startswith(".. code-block:: python"):
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                body.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(body)).strip()
            code = "\n".join(x for x in code.split("\n") if not x.startswith(":")).strip()
            found.append(code + "\n")
        else:
            i += 1
    return found


def main(mlflow_dir: Path) -> None:
    for module, owner in (("client", "MlflowClient"), ("fluent", None)):
        tree = ast.parse((mlflow_dir / "tracking" / f"{module}.py").read_text())
        body = tree.body
        if owner:
            body = next(
                n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner
            ).body
        for node in body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if owner and SKIPPED_FUNCTIONS.match(node.name):  # GenAI datasets, Unity Catalog
                continue
            for n, code in enumerate(blocks(ast.get_docstring(node) or "")):
                imports = re.findall(
                    r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", code, re.M
                )
                if any(not ALLOWED_IMPORTS.match(a or b) for a, b in imports):
                    continue
                if any(word in code for word in OUT_OF_SCOPE):
                    continue
                header = (
                    f"# MLflow 3.17.2, mlflow/tracking/{module}.py, the docstring example of "
                    f"{owner + '.' if owner else ''}{node.name} (Apache License 2.0), unchanged.\n"
                )
                (HERE / f"{module}__{node.name}__{n}.py").write_text(header + code)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
