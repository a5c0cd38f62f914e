"""``File``: a value to upload, from a path, bytes, a stream, an image, HTML or a pickle.

As neptune 1.x's ``neptune.types.File``; image and chart conversion is in ``figures``. The content is read when the file is logged (copied into
the run's blob store at call time), so later changes to a source file do not change what was logged.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import IO, Any

from ..exceptions import FileNotFound, NeptuneUserError
from ..validation import check_file_ref_names, check_no_nul
from ..wire.ops import FileRef
from .figures import (
    chart_html,
    converts_to_html,
    converts_to_image,
    image_png,
    is_numpy_array,
    is_pandas_dataframe,
)


class File:
    """A file to upload: ``File(path)``, or one of the ``from_*`` / ``as_*`` constructors."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        content: bytes | None = None,
        extension: str | None = None,
    ) -> None:
        if (path is None) == (content is None):
            raise NeptuneUserError("File needs exactly one of a path or content")
        self.path = None if path is None else os.fspath(path)
        self.content = content
        if extension is None and self.path is not None:
            extension = Path(self.path).suffix.lstrip(".")
        self.extension = extension or ("bin" if content is not None else "")

    def __repr__(self) -> str:
        source = self.path if self.path is not None else f"<{len(self.content or b'')} bytes>"
        return f"File({source!r}, extension={self.extension!r})"

    @property
    def name(self) -> str:
        """The name a download gets: the source file name, or ``content.<extension>``."""
        return Path(self.path).name if self.path is not None else f"content.{self.extension}"

    @classmethod
    def from_content(cls, content: str | bytes, *, extension: str | None = None) -> File:
        """A file holding ``content`` (str is UTF-8 encoded; default extension ``txt`` / ``bin``)."""
        if isinstance(content, str):
            return cls(content=content.encode("utf-8"), extension=extension or "txt")
        return cls(content=bytes(content), extension=extension or "bin")

    @classmethod
    def from_stream(cls, stream: IO[Any], *, seek: int | None = 0, extension: str | None = None) -> File:
        """A file holding what ``stream`` yields from position ``seek`` (None: from where it is)."""
        if seek is not None and stream.seekable():
            stream.seek(seek)
        data = stream.read()
        return cls.from_content(data, extension=extension)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, extension: str | None = None) -> File:
        """``File(path)`` with an explicit extension (default: the path's suffix)."""
        return cls(path, extension=extension)

    @classmethod
    def as_image(cls, image: Any, autoscale: bool = True) -> File:
        """A PNG from a PIL image, matplotlib / seaborn figure, numpy array or torch / tensorflow tensor.

        With ``autoscale`` (default) an array with values in [0, 1] is scaled to [0, 255].
        """
        return cls(content=image_png(image, autoscale), extension="png")

    @classmethod
    def as_html(cls, chart: Any, include_plotlyjs: bool | str = True) -> File:
        """An HTML file from a plotly / altair / bokeh / matplotlib / seaborn figure, a pandas
        DataFrame or an HTML string. ``include_plotlyjs`` is passed to plotly (``"cdn"``: link it)."""
        return cls(content=chart_html(chart, include_plotlyjs).encode("utf-8"), extension="html")

    @classmethod
    def create_from(cls, value: Any, include_plotlyjs: bool | str = True) -> File:
        """What ``upload(value)`` uploads: a path, a File, an image or a chart object."""
        if isinstance(value, File):
            return value
        if isinstance(value, (str, os.PathLike)):
            return cls(value)
        if converts_to_image(value):
            return cls.as_image(value)
        if converts_to_html(value):
            return cls.as_html(value, include_plotlyjs)
        hint = " (use File.as_image)" if is_numpy_array(value) else ""
        hint = " (use File.as_html)" if is_pandas_dataframe(value) else hint
        raise NeptuneUserError(f"upload() cannot upload a {type(value).__name__}{hint}")

    @classmethod
    def as_pickle(cls, obj: Any) -> File:
        """A pickle of ``obj`` (extension ``pkl``)."""
        return cls(content=pickle.dumps(obj), extension="pkl")

    def store(self, blobs: Any, field: str) -> FileRef:
        """Copy the content into a blob store; returns the reference an operation carries."""
        check_file_ref_names(field, self.name, self.extension)
        if self.content is not None:
            sha, size = blobs.put_bytes(self.content)
        else:
            check_no_nul(field, self.path, "file path")
            try:
                sha, size = blobs.put_file(self.path)
            except FileNotFoundError:
                raise FileNotFound(field, "file-exists", f"no such file: {self.path}") from None
            except IsADirectoryError:
                raise FileNotFound(
                    field, "file-exists", f"{self.path} is a directory; use upload_files()"
                ) from None
        return FileRef(sha256=sha, size=size, name=self.name, extension=self.extension)
