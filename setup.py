"""The C build of the logging hot path (neptune_sync/oplog/_hotframe.c). Optional: without a
compiler or zlib's headers the install goes on and the client uses the Python build of the same
code (neptune_sync/oplog/hotframe.py). Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "neptune_sync.oplog._hotframe",
            sources=["neptune_sync/oplog/_hotframe.c"],
            libraries=["z"],
            optional=True,
        )
    ]
)
