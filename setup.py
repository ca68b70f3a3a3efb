"""Build the one compiled module, billing_kit/history/_gather (the rest is in pyproject.toml).

It is optional: where no C compiler is available the install still succeeds and history frames
are built by the pure-Python route (about half as fast; see docs/history.md).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "billing_kit.history._gather", ["billing_kit/history/_gather.pyx"], optional=True
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
