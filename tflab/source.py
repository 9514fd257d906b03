"""Show the source of a tflab function in a notebook, where that function is taught.

The course keeps one copy of each piece of code: when a lesson's subject lives in tflab
(because tests and later lessons reuse it), the lesson shows it with :func:`show_source`
instead of repeating it.
"""

from __future__ import annotations

import inspect
import textwrap


def show_source(obj):
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
