// The chart controls (x axis, log y, smoothing, regex filter over names) and a grid of charts,
// one per float-series path, grouped by namespace. Used by the run page and by compare.
// Settings live in the URL (x, log, smooth, filter) like every other view state.

import { api } from "./api";
import { SeriesChart, X_LABEL, type ChartLine, type ChartSettings, type XMode } from "./chart";
import { h } from "./dom";
import { updateParams } from "./url-state";

export class ChartsPanel {
  readonly element: HTMLElement;
  private charts: SeriesChart[] = [];
  private settings: ChartSettings;
  private filter: string;
  private readonly grid: HTMLElement;
  private readonly filterError: HTMLElement;

  constructor(private project: string, lines: ChartLine[], paths: string[], params: URLSearchParams) {
    this.settings = {
      x: (["step", "time", "relative"].includes(params.get("x") ?? "") ? params.get("x") : "step") as XMode,
      logY: params.get("log") === "1",
      smooth: Math.min(0.99, Math.max(0, Number(params.get("smooth") ?? 0) || 0)),
    };
    this.filter = params.get("filter") ?? "";
    this.grid = h("div.chart-groups");
    this.filterError = h("span.error-inline", { role: "alert" });
    this.element = h("section.charts", { "aria-label": "charts" }, this.controls(), this.grid);
    const load = (runs: string[], path: string, range: [number, number] | null, buckets: number, sample: boolean) =>
      api.buckets(this.project, runs, [path], range, buckets, sample);
    const sync = `charts-${Math.random()}`;
    this.charts = paths.map((p) => new SeriesChart(p, lines, this.settings, load, sync));
    this.layout();
  }

  /** (Re)load every visible chart at its zoom, after the panel is in the document (charts need
   * their width): all previews first, so none waits behind another chart's exact buckets. */
  async load(): Promise<void> {
    const charts = this.visible();
    const pending = await Promise.all(charts.map((c) => c.preview()));
    await Promise.all(charts.filter((_, i) => pending[i]).map((c) => c.exact()));
  }

  destroy(): void {
    this.charts.forEach((c) => c.destroy());
  }

  private visible(): SeriesChart[] {
    return this.charts.filter((c) => c.element.isConnected);
  }

  private pattern(): RegExp | null {
    try {
      this.filterError.textContent = "";
      return this.filter ? new RegExp(this.filter, "i") : null;
    } catch {
      this.filterError.textContent = "not a valid regular expression";
      return null;
    }
  }

  private layout(): void {
    const pattern = this.pattern();
    const groups = new Map<string, SeriesChart[]>();
    for (const chart of this.charts) {
      if (pattern && !pattern.test(chart.path)) continue;
      const ns = chart.path.includes("/") ? chart.path.slice(0, chart.path.lastIndexOf("/")) : "(root)";
      groups.set(ns, [...(groups.get(ns) ?? []), chart]);
    }
    this.grid.replaceChildren(
      ...[...groups].map(([ns, charts]) =>
        h("details.chart-group", { open: true }, h("summary", {}, `${ns} (${charts.length})`), h("div.chart-grid", {}, ...charts.map((c) => c.element))),
      ),
    );
    if (!groups.size) this.grid.append(h("p.muted", {}, this.charts.length ? "No chart matches the filter." : "No float series."));
  }

  private controls(): HTMLElement {
    const x = h(
      "select",
      { "aria-label": "x axis", onchange: (e: Event) => this.set({ x: (e.target as HTMLSelectElement).value as XMode }) },
      ...(["step", "relative", "time"] as XMode[]).map((m) =>
        h("option", { value: m, selected: m === this.settings.x }, X_LABEL[m]),
      ),
    );
    const log = h("input", { type: "checkbox", checked: this.settings.logY, onchange: (e: Event) => this.set({ logY: (e.target as HTMLInputElement).checked }) });
    const smoothValue = h("output", { "aria-hidden": "true" }, this.settings.smooth.toFixed(2));
    const smooth = h("input", {
      type: "range", min: "0", max: "0.99", step: "0.01", value: String(this.settings.smooth), "aria-label": "smoothing",
      oninput: (e: Event) => { smoothValue.textContent = Number((e.target as HTMLInputElement).value).toFixed(2); },
      onchange: (e: Event) => this.set({ smooth: Number((e.target as HTMLInputElement).value) }),
    });
    const filter = h("input.chart-filter", {
      type: "search", placeholder: "filter charts (regex)", value: this.filter, "aria-label": "filter charts by regular expression",
      oninput: (e: Event) => {
        this.filter = (e.target as HTMLInputElement).value;
        updateParams({ filter: this.filter });
        this.layout();
        this.visible().forEach((c) => c.element.dataset.fetches || c.fetch());
      },
    });
    return h(
      "div.toolbar",
      {},
      h("label", {}, "x axis ", x),
      h("label", {}, log, " log y"),
      h("label.smoothing", {}, "smoothing ", smooth, smoothValue),
      filter,
      this.filterError,
    );
  }

  private set(changes: Partial<ChartSettings>): void {
    const xChanged = changes.x !== undefined && changes.x !== this.settings.x;
    this.settings = { ...this.settings, ...changes };
    updateParams({ x: this.settings.x === "step" ? null : this.settings.x, log: this.settings.logY ? "1" : null, smooth: this.settings.smooth ? String(this.settings.smooth) : null });
    this.charts.forEach((c) => c.configure(this.settings));
    if (xChanged) this.visible().forEach((c) => c.fetch(null));
  }
}
