"""uPlot vs Chart.js: time to draw line charts in headless Chromium (the OS's), same data, same size.

Cases: one series of N points (what a chart would cost without server-side buckets), and what
the app really draws in compare: 20 runs x 2,000 buckets (a line plus a min/max band each).
Both libraries come from web/node_modules (Chart.js is a devDependency only for this bench);
animation off, 800x300 canvas; the time runs from the constructor call to the second animation
frame after it (the chart is on screen). Median of 5.

    .venv/bin/python bench/chart_libs.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "tests" / "store"), str(ROOT / "tests" / "webapp")]

from webapp_helpers import CHROMIUM, LAUNCH_ARGS  # noqa: E402

UPLOT = ROOT / "web/node_modules/uplot/dist/uPlot.iife.min.js"
CHARTJS = ROOT / "web/node_modules/chart.js/dist/chart.umd.min.js"

DRAW = """async ([lib, lines, points, band]) => {
  const el = document.createElement('div'); document.body.replaceChildren(el);
  const xs = Array.from({length: points}, (_, i) => i);
  const ys = Array.from({length: lines}, (_, l) => xs.map(i => Math.sin(i / 50 + l) + l * 0.1 + Math.random() * 0.05));
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const t0 = performance.now();
  if (lib === 'uplot') {
    const series = [{}], data = [xs], bands = [];
    ys.forEach((y, l) => {
      series.push({stroke: 'blue', width: 1, points: {show: false}}); data.push(y);
      if (band) {
        series.push({stroke: 'transparent'}, {stroke: 'transparent'});
        data.push(y.map(v => v - 0.1), y.map(v => v + 0.1));
        bands.push({series: [data.length - 1, data.length - 2], fill: 'rgba(0,0,255,0.2)'});
      }
    });
    new uPlot({width: 800, height: 300, series, bands, scales: {x: {time: false}}, legend: {show: false}}, data, el);
  } else {
    const canvas = document.createElement('canvas'); el.style.width = '800px'; el.style.height = '300px'; el.append(canvas);
    const datasets = [];
    ys.forEach((y) => {
      if (band) {
        datasets.push({data: y.map(v => v - 0.1), pointRadius: 0, borderWidth: 0, fill: false});
        datasets.push({data: y.map(v => v + 0.1), pointRadius: 0, borderWidth: 0, fill: '-1', backgroundColor: 'rgba(0,0,255,0.2)'});
      }
      datasets.push({data: y, pointRadius: 0, borderWidth: 1, borderColor: 'blue'});
    });
    new Chart(canvas, {type: 'line', data: {labels: xs, datasets},
      options: {animation: false, responsive: true, maintainAspectRatio: false, normalized: true, parsing: true,
                plugins: {legend: {display: false}, tooltip: {enabled: false}}, scales: {x: {type: 'linear'}}}});
  }
  await frame(); await frame();
  return performance.now() - t0;
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    cases = [(1, 10_000, False), (1, 100_000, False), (1, 1_000_000, False), (20, 2_000, True)]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 500})
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(UPLOT))
        page.add_script_tag(path=str(CHARTJS))
        for lines, points, band in cases:
            result = {}
            for lib in ("uplot", "chartjs"):
                page.evaluate(DRAW, [lib, lines, min(points, 1000), band])  # warm up the JIT
                result[lib] = statistics.median(
                    page.evaluate(DRAW, [lib, lines, points, band]) for _ in range(5)
                )
            what = f"{lines} x {points:,} points" + (" + min/max band" if band else "")
            print(
                f"{what:>34}: uPlot {result['uplot']:7.0f} ms   Chart.js {result['chartjs']:7.0f} ms"
                f"   Chart.js / uPlot {result['chartjs'] / result['uplot']:.1f}x"
            )
        browser.close()


if __name__ == "__main__":
    main()
