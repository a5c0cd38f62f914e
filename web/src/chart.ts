// One chart of one float-series path for one or more runs, over uPlot. The chart never holds a
// whole series: it asks the store for ~2 buckets per pixel over the visible step range and asks
// again on drag-zoom, down to raw points; double-click (or reset) asks for the whole range.
// Each run draws its bucket's last value (optionally EMA-smoothed) and a min/max band.
// Exact buckets can cost the store a walk of the range, so a chart first asks for a sampled preview
// (cheap index seeks, marked "preview") and replaces it when the exact buckets arrive. Where the
// buckets may snap to the store's chunk boundaries (each still exact for the points it holds) they
// cost as little, and the preview request answers with them: one request, no second draw.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Buckets } from "./api";
import { formatTime, formatValue, h } from "./dom";

export type XMode = "step" | "time" | "relative";
export const X_LABEL: Record<XMode, string> = { step: "step", relative: "relative time (s)", time: "wall time" };

export interface ChartLine { run: string; label: string; color: string; created: number }
export interface ChartSettings { x: XMode; logY: boolean; smooth: number }
export type Loader = (runs: string[], path: string, range: [number, number] | null, buckets: number, sample: boolean) => Promise<Buckets[]>;

export const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
  "#393b79", "#ad494a", "#637939", "#e6550d", "#7b4173", "#3182bd", "#31a354", "#756bb1", "#de2d26", "#636363",
];

/** Debiased exponential moving average (as TensorBoard / Neptune): no pull towards 0 at the start. */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n += 1;
    return last / (1 - Math.pow(weight, n));
  });
}

function xValues(b: Buckets, line: ChartLine, mode: XMode): number[] {
  if (mode === "step") return b.step;
  if (mode === "time") return b.ts;
  return b.ts.map((t) => t - line.created);
}

export class SeriesChart {
  readonly element: HTMLElement;
  private plot: uPlot | null = null;
  private buckets: Buckets[] = [];
  private range: [number, number] | null = null;
  private fetches = 0;
  private generation = 0;
  private sampled = false;
  private readonly plotArea: HTMLElement;
  private readonly status: HTMLElement;
  private readonly cursorX: HTMLElement;
  private readonly readouts: HTMLElement[];

  constructor(
    readonly path: string,
    private lines: ChartLine[],
    private settings: ChartSettings,
    private readonly load: Loader,
    private readonly syncKey: string,
  ) {
    this.plotArea = h("div.plot");
    this.status = h("span.chart-status", { "aria-live": "polite" });
    const reset = h("button.small", { type: "button", title: "Reset zoom", onclick: () => this.fetch(null) }, "reset");
    // the legend names each run and, under the cursor, gives its value there (and the x value)
    this.cursorX = h("span.legend-x");
    this.readouts = lines.map(() => h("span.legend-value"));
    const legend = h(
      "div.legend",
      {},
      this.cursorX,
      ...lines.map((l, i) => h("span.legend-item", {}, h("span.swatch", { style: `background:${l.color}` }), l.label, this.readouts[i])),
    );
    this.element = h("figure.chart", { "data-path": path }, h("figcaption", {}, h("span.chart-title", {}, path), this.status, reset), this.plotArea, legend);
  }

  /** Fetch the current range again (live runs) or a new one: a preview first, then exact buckets. */
  async fetch(range: [number, number] | null = this.range): Promise<void> {
    if (await this.preview(range)) await this.exact();
  }

  /** Draw a sampled preview; false when it already was the exact answer (few points, or snapped
   * buckets) or failed. */
  async preview(range: [number, number] | null = this.range): Promise<boolean> {
    this.range = range;
    const generation = ++this.generation;
    const got = await this.request(true);
    if (got === null || generation !== this.generation) return false;
    if (!got.some((b) => b.sampled)) {
      this.show(got, false);
      return false;
    }
    this.show(got, true);
    return true;
  }

  async exact(): Promise<void> {
    const generation = this.generation;
    const got = await this.request(false);
    if (got !== null && generation === this.generation) this.show(got, false);
  }

  private async request(sample: boolean): Promise<Buckets[] | null> {
    const width = Math.max(200, this.plotArea.clientWidth || 480);
    const perPixel = this.lines.length > 4 ? 1 : 2;
    const buckets = Math.min(10000, Math.round(width * perPixel));
    this.status.textContent = "loading…";
    try {
      return await this.load(this.lines.map((l) => l.run), this.path, this.range, buckets, sample);
    } catch (err) {
      this.status.textContent = `error: ${(err as Error).message}`;
      return null;
    }
  }

  private show(buckets: Buckets[], sampled: boolean): void {
    this.buckets = buckets;
    this.sampled = sampled;
    if (!sampled) this.fetches += 1;
    this.draw();
  }

  configure(settings: ChartSettings): void {
    this.settings = settings;
    this.draw(true);
  }

  destroy(): void {
    this.plot?.destroy();
    this.plot = null;
  }

  private data(): uPlot.AlignedData {
    const tables: uPlot.AlignedData[] = this.lines.map((line) => {
      const b = this.buckets.find((x) => x.run === line.run);
      if (!b) return [[], [], [], []] as unknown as uPlot.AlignedData;
      const positive = (v: number | null) => (this.settings.logY && v !== null && v <= 0 ? null : v);
      const smooth = ema(b.last, this.settings.smooth).map(positive);
      return [xValues(b, line, this.settings.x), smooth, b.min.map(positive), b.max.map(positive)] as uPlot.AlignedData;
    });
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }

  private draw(rebuild = false): void {
    const data = this.data();
    const raw = this.buckets.every((b) => b.raw);
    const points = this.buckets.reduce((n, b) => n + b.step.length, 0);
    Object.assign(this.element.dataset, { points: String(points), raw: String(raw), fetches: String(this.fetches), sampled: String(this.sampled) });
    this.status.textContent = this.sampled ? `preview: ${points} sampled points, exact buckets loading…` : raw ? `${points} points` : `${points} buckets`;
    if (this.plot && !rebuild) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.plot = new uPlot(this.options(), data, this.plotArea);
  }

  private options(): uPlot.Options {
    const series: uPlot.Series[] = [{ label: this.settings.x }];
    const bands: uPlot.Band[] = [];
    this.lines.forEach((line, i) => {
      series.push({ label: line.label, stroke: line.color, width: 1.5, spanGaps: true, points: { show: false } });
      series.push({ label: `${line.label} min`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
      series.push({ label: `${line.label} max`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
      bands.push({ series: [3 * i + 3, 3 * i + 2], fill: line.color + "33" });
    });
    const element = this.element;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue("--fg").trim() || "#222";
    const grid = css.getPropertyValue("--grid").trim() || "#ddd";
    return {
      width: Math.max(200, this.plotArea.clientWidth || 480),
      height: 220,
      series,
      bands,
      legend: { show: false },
      scales: { x: { time: this.settings.x === "time" }, y: { distr: this.settings.logY ? 3 : 1 } },
      axes: [{ stroke: fg, grid: { stroke: grid } }, { stroke: fg, grid: { stroke: grid }, size: 60 }],
      cursor: { sync: { key: this.syncKey }, drag: { x: true, y: false, setScale: false }, bind: { dblclick: () => () => { this.fetch(null); return null; } } },
      hooks: {
        setSelect: [(u) => this.zoom(u)],
        setCursor: [(u) => this.readout(u)],
        draw: [() => { element.dataset[this.sampled ? "previewAt" : "drawnAt"] = String(performance.now()); }],
      },
    };
  }

  private readout(u: uPlot): void {
    const i = u.cursor.idx;
    const x = i === null || i === undefined ? null : u.data[0][i];
    this.cursorX.textContent = x === null ? "" : `${X_LABEL[this.settings.x]} ${this.settings.x === "time" ? formatTime(x) : formatValue(x)}`;
    this.readouts.forEach((el, k) => {
      const v = x === null ? null : u.data[1 + 3 * k][i!];
      el.textContent = v === null || v === undefined ? "" : ` ${formatValue(v)}`;
    });
  }

  private zoom(u: uPlot): void {
    if (u.select.width < 3) return;
    const lo = u.posToVal(u.select.left, "x");
    const hi = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.fetch(this.stepRange(lo, hi));
  }

  /** The step range a selection on the x axis covers (time axes map through the drawn buckets). */
  private stepRange(lo: number, hi: number): [number, number] {
    if (this.settings.x === "step") return [Math.floor(lo), Math.ceil(hi)];
    let first = Infinity;
    let last = -Infinity;
    this.lines.forEach((line) => {
      const b = this.buckets.find((x) => x.run === line.run);
      if (!b) return;
      xValues(b, line, this.settings.x).forEach((x, i) => {
        if (x >= lo && x <= hi) {
          first = Math.min(first, b.first_step[i]);
          last = Math.max(last, b.step[i]);
        }
      });
    });
    return Number.isFinite(first) ? [first, last] : [0, -1];
  }
}
