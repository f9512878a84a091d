"""The compiled text core (streams/_native/textcore.c); everything else is in pyproject.toml.

It is optional: where no C compiler is found the build goes on without it, and streams.fingerprint
and streams.cleaning compute the same values in Python (slower; the worker logs which one it uses).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "streams._textcore",
            sources=["streams/_native/textcore.c"],
            include_dirs=["streams/_native"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
