"""File constructors and stringify_unsupported."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from neptune_sync.debug_mode import DebugBlobs
from neptune_sync.exceptions import NeptuneUserError
from neptune_sync.types import File, StringifyValue, stringify_unsupported


def stored(file: File) -> bytes:
    blobs = DebugBlobs()
    ref = file.store(blobs, "f")
    return blobs.open(ref.sha256).read()


def test_file_from_path_content_and_stream(tmp_path):
    path = tmp_path / "m.ckpt"
    path.write_bytes(b"ckpt")
    assert (File(str(path)).extension, File(path).name, stored(File(path))) == ("ckpt", "m.ckpt", b"ckpt")
    text = File.from_content("héllo")
    assert (text.extension, stored(text)) == ("txt", "héllo".encode())
    assert File.from_content(b"\x00", extension="npy").name == "content.npy"
    stream = io.BytesIO(b"0123456789")
    stream.seek(5)
    assert stored(File.from_stream(stream)) == b"0123456789"
    stream.seek(5)
    assert stored(File.from_stream(stream, seek=None)) == b"56789"
    with pytest.raises(NeptuneUserError, match="exactly one"):
        File()
    with pytest.raises(NeptuneUserError, match="exactly one"):
        File("x", content=b"y")


def test_as_image_from_arrays_and_pil():
    gray = Image.open(io.BytesIO(stored(File.as_image(np.zeros((3, 5))))))
    assert gray.size == (5, 3) and gray.mode == "L"
    rgb = np.asarray(Image.open(io.BytesIO(stored(File.as_image(np.ones((2, 2, 3)) * 0.5)))))
    assert rgb.shape == (2, 2, 3) and rgb[0, 0].tolist() == [127, 127, 127]
    kept = np.asarray(Image.open(io.BytesIO(stored(File.as_image(np.full((2, 2, 1), 7.0))))))
    assert kept[0, 0] == 7  # neptune 1.x autoscale: values in [0, 255] are kept, [0, 1] scaled
    raw = np.asarray(Image.open(io.BytesIO(stored(File.as_image(np.full((2, 2), 0.5), autoscale=False)))))
    assert raw[0, 0] == 0
    pil = Image.new("RGBA", (4, 4), (1, 2, 3, 4))
    assert Image.open(io.BytesIO(stored(File.as_image(pil)))).getpixel((0, 0)) == (1, 2, 3, 4)
    with pytest.raises(NeptuneUserError, match="HxW, HxWx1, HxWx3 or HxWx4"):
        File.as_image(np.zeros((2, 2, 2)))
    with pytest.raises(NeptuneUserError, match="cannot convert a str"):
        File.as_image("not an image")


def test_as_html_and_as_pickle():
    class Table:
        def to_html(self) -> str:
            return "<table></table>"

    assert stored(File.as_html(Table())) == b"<table></table>"
    assert File.as_html("<p>").extension == "html"
    with pytest.raises(NeptuneUserError, match="as_html cannot convert a int"):
        File.as_html(3)
    assert pickle.loads(stored(File.as_pickle({"a": (1, 2)}))) == {"a": (1, 2)}


def test_matplotlib_figure_when_installed():
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure()
    assert stored(File.as_image(fig)).startswith(b"\x89PNG")


def test_stringify_unsupported_wraps_only_unsupported_values():
    result = stringify_unsupported({"a": [1], "b": {"c": None, "d": 2.0}, 3: "s"})
    assert isinstance(result["a"], StringifyValue) and str(result["a"]) == "[1]"
    assert str(result["b"]["c"]) == "None" and result["b"]["d"] == 2.0
    assert result["3"] == "s"
