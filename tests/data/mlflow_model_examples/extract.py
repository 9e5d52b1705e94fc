"""Extract the runnable model examples from MLflow's own docstrings (test data).

    python tests/data/mlflow_model_examples/extract.py PATH/TO/site-packages/mlflow

Reads the docstrings named in TARGETS of an MLflow install (3.17.2 made the committed files)
with `ast`, never importing MLflow, and writes each `.. code-block:: python` example that
imports MLflow to `<module>__<name>__<n>.py` (`n`: its place among the docstring's examples),
unchanged but for a header naming where it came from. Examples of what mltop leaves to later
work (models from code, other flavors, Spark) are not extracted.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).parent
# (file under mlflow/, the function, class or Class.attribute whose docstring; "" the module's)
TARGETS = [
    ("sklearn/__init__.py", "save_model"),
    ("sklearn/__init__.py", "log_model"),
    ("sklearn/__init__.py", "load_model"),
    ("pyfunc/__init__.py", ""),
    ("pyfunc/__init__.py", "save_model"),
    ("pyfunc/__init__.py", "log_model"),
    ("models/signature.py", "infer_signature"),
    ("models/signature.py", "set_signature"),
    ("models/model.py", "get_model_info"),
    ("models/model.py", "ModelInfo.metadata"),
    ("models/model.py", "Model.metadata"),
    ("models/utils.py", "validate_schema"),
]
OUT_OF_SCOPE = ("set_model(", "transformers", "spark", "code.py")


def blocks(doc: str) -> list[str]:
    """Each `.. code-block:: python` body, dedented, its options (`:caption:`) dropped."""
    found, lines, i = [], doc.split("\n"), 0
    while i < len(lines):
        directive = re.match(r"^(\s*)(?:- )?\.\. code-block:: python\s*$", lines[i])
        i += 1
        if directive is None:
            continue
        depth = len(directive.group(1))
        body = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > depth
        ):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        code = "\n".join(x for x in code.split("\n") if not re.match(r"^:\w+:", x)).strip()
        found.append(code + "\n")
    return found


def docstring(source: str, tree: ast.Module, name: str) -> str:
    """The docstring as written in the source (escapes such as `\\n` kept as typed: the
    examples are code, read as a user copies them)."""
    body: list[ast.stmt] = tree.body
    node: ast.AST = tree
    if name:
        *owners, last = name.split(".")
        for owner in owners:
            body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == owner).body
        node = next(
            n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == last
        )
        body = node.body  # type: ignore[attr-defined]
    first = body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        return ""
    literal = ast.get_source_segment(source, first.value) or ""
    text = re.sub(r'^[rRuU]?("""|\'\'\')', "", literal)
    return re.sub(r'("""|\'\'\')$', "", text)


def main(mlflow_dir: Path) -> None:
    for path, name in TARGETS:
        source = (mlflow_dir / path).read_text()
        tree = ast.parse(source)
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", "_")
        for n, code in enumerate(blocks(textwrap.dedent(docstring(source, tree, name)))):
            if not re.search(r"^\s*(import mlflow|from mlflow)", code, re.M):
                continue  # a fragment (a value, a call on a model made elsewhere)
            if any(word in code for word in OUT_OF_SCOPE):
                continue
            where = f"the docstring example of {name}" if name else "the module docstring's example"
            header = f"# MLflow 3.17.2, mlflow/{path}, {where} (Apache License 2.0), unchanged.\n"
            stem = f"{module}__{name.replace('.', '_') or 'module'}__{n}"
            (HERE / f"{stem}.py").write_text(header + code)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
