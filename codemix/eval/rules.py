"""The answer rules under their old name: the public API of ``codemix.eval.extract``.

Answer extraction is a chain of small named steps per answer type, declared in
``codemix.eval.extract.chains``; see that package for how an output is read.
"""

from codemix.eval.extract import *  # noqa: F403 - this module is the package's API under its old name
from codemix.eval.extract import __all__  # noqa: F401
