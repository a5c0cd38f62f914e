"""``File``: a value to upload, from a path, bytes, a stream, an image, HTML or a pickle.

As neptune 1.x's ``neptune.types.File``. The content is read when the file is logged (copied into
the run's blob store at call time), so later changes to a source file do not change what was logged.
"""

from __future__ import annotations

import base64
import io
import os
import pickle
from pathlib import Path
from typing import IO, Any

from ..exceptions import NeptuneUserError, ValueRuleError
from ..oplog.ops import FileRef
from ..validation import check_file_ref_names, check_no_nul


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
    def from_content(cls, content: str | bytes, extension: str | None = None) -> File:
        """A file holding ``content`` (str is UTF-8 encoded; default extension ``txt`` / ``bin``)."""
        if isinstance(content, str):
            return cls(content=content.encode("utf-8"), extension=extension or "txt")
        return cls(content=bytes(content), extension=extension or "bin")

    @classmethod
    def from_stream(cls, stream: IO[Any], seek: int | None = 0, extension: str | None = None) -> File:
        """A file holding what ``stream`` yields from position ``seek`` (None: from where it is)."""
        if seek is not None and stream.seekable():
            stream.seek(seek)
        data = stream.read()
        return cls.from_content(data, extension=extension)

    @classmethod
    def as_image(cls, image: Any) -> File:
        """A PNG from a PIL image, a numpy array (HxW, HxWx3/4; floats in [0, 1]) or a matplotlib figure."""
        return cls(content=image_to_png(image), extension="png")

    @classmethod
    def as_html(cls, obj: Any) -> File:
        """An HTML file from a str, anything with ``to_html()`` (pandas, plotly) or a matplotlib figure."""
        if isinstance(obj, str):
            html = obj
        elif hasattr(obj, "to_html"):
            html = obj.to_html()
        elif _is_matplotlib_figure(obj):
            png = base64.b64encode(image_to_png(obj)).decode("ascii")
            html = f'<html><body><img src="data:image/png;base64,{png}"/></body></html>'
        else:
            raise NeptuneUserError(f"File.as_html cannot convert a {type(obj).__name__}")
        return cls(content=html.encode("utf-8"), extension="html")

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
                raise ValueRuleError(field, "file-exists", f"no such file: {self.path}") from None
            except IsADirectoryError:
                raise ValueRuleError(
                    field, "file-exists", f"{self.path} is a directory; use upload_files()"
                ) from None
        return FileRef(sha256=sha, size=size, name=self.name, extension=self.extension)


def is_image_like(value: Any) -> bool:
    """True for values ``File.as_image`` converts (checked by module name: nothing is imported)."""
    module = type(value).__module__.split(".")[0]
    return module in ("PIL", "numpy") or _is_matplotlib_figure(value)


def _is_matplotlib_figure(value: Any) -> bool:
    return type(value).__module__.startswith("matplotlib") and hasattr(value, "savefig")


def image_to_png(image: Any) -> bytes:
    buf = io.BytesIO()
    if _is_matplotlib_figure(image):
        image.savefig(buf, format="png")
        return buf.getvalue()
    try:
        from PIL import Image
    except ImportError:
        raise NeptuneUserError("File.as_image needs Pillow for this value: pip install pillow") from None
    if type(image).__module__.split(".")[0] == "numpy":
        image = Image.fromarray(_array_to_uint8(image))
    if not isinstance(image, Image.Image):
        raise NeptuneUserError(f"File.as_image cannot convert a {type(image).__name__}")
    image.save(buf, format="PNG")
    return buf.getvalue()


def _array_to_uint8(array: Any) -> Any:
    import numpy as np

    data = np.asarray(array)
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[2] not in (3, 4)):
        raise NeptuneUserError(f"File.as_image needs an HxW, HxWx3 or HxWx4 array, not shape {data.shape}")
    if data.dtype != np.uint8:
        scale = 255.0 if data.dtype.kind == "f" else 1.0
        data = np.clip(data * scale, 0, 255).astype(np.uint8)
    return data
