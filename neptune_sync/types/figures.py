"""Image and chart objects to PNG or HTML bytes, as neptune 1.x converts them.

Objects are recognised by their type's module and class name, so nothing (numpy, PIL, matplotlib,
plotly, ...) is imported until such an object is seen. What 1.x does, and so what we do:

- ``as_image``: PIL images, matplotlib figures (``bbox_inches="tight"``), seaborn grids (their
  figure), numpy arrays, torch / tensorflow tensors (as numpy). Arrays are autoscaled: values in
  [0, 1] are multiplied by 255, values in [0, 255] are kept, any other range is kept with a
  warning; then cast to uint8. Shapes HxW, HxWx1, HxWx3, HxWx4.
- ``as_html``: plotly figures (``write_html``, ``include_plotlyjs``), altair charts, bokeh figures,
  pandas DataFrames (anything with ``to_html()``), matplotlib figures (through plotly when installed, else an
  embedded PNG), seaborn grids (as matplotlib), strings (the HTML itself).
- assigning or uploading a value: PIL / matplotlib / seaborn become PNG images; plotly / altair /
  bokeh become HTML; appending: what ``as_image`` takes becomes a file series item.
"""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

from ..exceptions import NeptuneUserError

logger = logging.getLogger("neptune_sync")
SEABORN_GRIDS = frozenset({"FacetGrid", "PairGrid", "JointGrid"})


def _from(value: Any, package: str) -> bool:
    """True if ``value``'s type is defined in ``package`` or one of its modules."""
    module = type(value).__module__ or ""
    return module == package or module.startswith(package + ".")


def is_pil_image(value: Any) -> bool:
    return _from(value, "PIL") and any(c.__name__ == "Image" for c in type(value).__mro__)


def is_matplotlib_figure(value: Any) -> bool:
    return _from(value, "matplotlib") and type(value).__name__ == "Figure"


def is_seaborn_grid(value: Any) -> bool:
    return _from(value, "seaborn") and type(value).__name__ in SEABORN_GRIDS


def is_numpy_array(value: Any) -> bool:
    return _from(value, "numpy") and type(value).__name__ == "ndarray"


def is_tensor(value: Any) -> bool:
    """A torch or tensorflow tensor (anything of theirs with ``numpy()``)."""
    return (
        (_from(value, "torch") or _from(value, "tensorflow"))
        and "Tensor" in type(value).__name__
        and hasattr(value, "numpy")
    )


def is_plotly_figure(value: Any) -> bool:
    return _from(value, "plotly") and type(value).__name__ == "Figure"


def is_altair_chart(value: Any) -> bool:
    return _from(value, "altair") and "Chart" in type(value).__name__


def is_bokeh_figure(value: Any) -> bool:
    return _from(value, "bokeh") and type(value).__name__.lower() == "figure"


def is_pandas_dataframe(value: Any) -> bool:
    return _from(value, "pandas") and type(value).__name__ == "DataFrame"


def converts_to_image(value: Any) -> bool:
    """Assigned or uploaded as a PNG (neptune 1.x ``File.is_convertable_to_image``)."""
    return is_pil_image(value) or is_matplotlib_figure(value) or is_seaborn_grid(value)


def converts_to_html(value: Any) -> bool:
    """Assigned or uploaded as HTML (neptune 1.x ``File.is_convertable_to_html``)."""
    return is_plotly_figure(value) or is_altair_chart(value) or is_bokeh_figure(value)


def appends_as_image(value: Any) -> bool:
    """Appended to a series as an image (a file series item)."""
    return converts_to_image(value) or is_numpy_array(value) or is_tensor(value)


def image_png(image: Any, autoscale: bool = True) -> bytes:
    """PNG bytes of an image-like object (see the module docstring)."""
    if is_matplotlib_figure(image):
        return _figure_png(image)
    if is_seaborn_grid(image):
        return _figure_png(image.figure)
    if is_tensor(image):
        image = image.detach().numpy() if hasattr(image, "detach") else image.numpy()
    if is_numpy_array(image):
        image = _array_image(image, autoscale)
    if not is_pil_image(image):
        raise NeptuneUserError(f"File.as_image cannot convert a {type(image).__name__}")
    with io.BytesIO() as buf:
        image.save(buf, format="PNG")
        return buf.getvalue()


def chart_html(chart: Any, include_plotlyjs: bool | str = True) -> str:
    """HTML of a chart, table or matplotlib figure (see the module docstring)."""
    if isinstance(chart, str):
        return chart
    if is_seaborn_grid(chart):
        chart = chart.figure
    if is_matplotlib_figure(chart):
        return _matplotlib_html(chart, include_plotlyjs)
    if is_plotly_figure(chart):
        with io.StringIO() as buf:
            chart.write_html(buf, include_plotlyjs=include_plotlyjs)
            return buf.getvalue()
    if is_altair_chart(chart):
        with io.StringIO() as buf:
            chart.save(buf, format="html")
            return buf.getvalue()
    if is_bokeh_figure(chart):
        from bokeh.embed import file_html
        from bokeh.resources import CDN

        return file_html(chart, CDN)
    if is_pandas_dataframe(chart) or hasattr(chart, "to_html"):
        return chart.to_html()
    raise NeptuneUserError(
        f"File.as_html cannot convert a {type(chart).__name__}: it takes plotly, altair, bokeh, "
        "matplotlib and seaborn figures, pandas DataFrames and HTML strings"
    )


def _figure_png(figure: Any) -> bytes:
    with io.BytesIO() as buf:
        figure.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def _matplotlib_html(figure: Any, include_plotlyjs: bool | str) -> str:
    try:
        import plotly.tools
    except ImportError:
        logger.warning("plotly is not installed: the matplotlib figure is logged as an image in HTML")
        return _png_html(_figure_png(figure))
    try:
        return chart_html(plotly.tools.mpl_to_plotly(figure), include_plotlyjs)
    except Exception as exc:  # plotly cannot convert every figure; 1.x falls back to the image too
        logger.warning("plotly could not convert the matplotlib figure (%s); logged as an image", exc)
        return _png_html(_figure_png(figure))


def _png_html(png: bytes) -> str:
    return "<img src='data:image/png;base64," + base64.b64encode(png).decode("ascii") + "'/>"


def _array_image(array: Any, autoscale: bool) -> Any:
    import numpy as np
    from PIL import Image

    data = np.array(array)  # a copy: the caller's array is not changed
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[2] not in (3, 4)):
        raise NeptuneUserError(
            f"File.as_image needs an HxW, HxWx1, HxWx3 or HxWx4 array, not shape {data.shape}"
        )
    if autoscale and data.size:
        low, high = data.min(), data.max()
        if low >= 0 and high <= 1:
            data = data * 255
        elif not (low >= 0 and high <= 255):
            logger.warning(
                "image data is in range [%s, %s]; to show as colours it must be in [0, 255] or [0.0, 1.0]",
                low,
                high,
            )
    return Image.fromarray(data.astype(np.uint8))
