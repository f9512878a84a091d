"""The compiled fingerprint core (streams/_native/fpcore.c); everything else is in pyproject.toml.

It is optional: where no C compiler is found the build goes on without it, and streams.fingerprint
computes the same values in Python (slower; the worker logs which one it uses).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "streams._fpcore",
            sources=["streams/_native/fpcore.c"],
            include_dirs=["streams/_native"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
