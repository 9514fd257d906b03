"""Show the source of a tflab function in a notebook, where that function is taught.

The course keeps one copy of each piece of code: when a lesson's subject lives in tflab
(because tests and later lessons reuse it), the lesson shows it with :func:`show_source`
instead of repeating it; :func:`notebook_definitions` and :func:`write_notebook_scripts`
let tests and benchmarks run the code a notebook's cells hold.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import textwrap
from pathlib import Path


def show_source(obj) -> IPython.display.Code:  # noqa: F821 (imported when called)
    """The source of a function, class or method, as a syntax-highlighted ``IPython.display.Code``.

    As the last expression of a notebook cell it renders in colour; its plain-text form is
    the source itself, headed by a comment naming the module it comes from.
    """
    from IPython.display import Code

    try:
        code = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as exc:
        raise TypeError(f"show_source needs a function, class or method written in Python, "
                        f"not {obj!r}") from exc
    return Code(f"# {obj.__module__}.{obj.__qualname__}\n{code}", language="python")


def notebook_definitions(notebook: str | Path, *names: str) -> str:
    """The source of the top-level functions and classes called ``names`` in a notebook's
    code cells, in notebook order: lets tests and benchmarks run the code a lesson shows
    (one copy) instead of a copy of it."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    found: dict[str, str] = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell with IPython magics defines nothing we need
            continue
        lines = source.splitlines()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found[node.name] = "\n".join(lines[first - 1:node.end_lineno])  # decorators too
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"{notebook} defines no {', '.join(missing)}")
    return "\n\n\n".join(found[name] for name in names) + "\n"


def write_notebook_scripts(notebook: str | os.PathLike, folder: str | os.PathLike) -> list[Path]:
    """Write the ``%%writefile`` cells of ``notebook`` into ``folder``; return the files.

    Lesson 09 writes its training script in a notebook cell (``%%writefile``), as
    TensorFlow's multi-worker tutorials do; tests and benchmarks run that one copy
    by writing it again to a folder of their own and passing it as ``pythonpath``.
    """
    cells = json.loads(Path(notebook).read_text())["cells"]
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing folder, not {str(folder)!r}")
    written = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not source.startswith("%%writefile "):
            continue
        line, _, body = source.partition("\n")
        name = Path(line.split()[-1].replace("}", "/")).name  # e.g. {SCRIPTS}/train.py
        written.append(folder / name)
        written[-1].write_text(body if body.endswith("\n") else body + "\n")
    if not written:
        raise ValueError(f"{notebook} has no %%writefile cell")
    return written
