// Compare up to 20 runs: their float series overlaid in shared charts (a colour each), and a
// side-by-side table of field values with "only differences". State: runs, diff, and chart settings.

import { api, type FieldValue, type RunRecord } from "../api";
import { PALETTE, type ChartLine } from "../chart";
import { ChartsPanel } from "../charts-panel";
import { formatValue, h } from "../dom";
import { href, list, updateParams } from "../url-state";

export async function compareView(root: HTMLElement, project: string, params: URLSearchParams): Promise<() => void> {
  const idents = list(params, "runs").slice(0, 20);
  const runs: RunRecord[] = await Promise.all(idents.map((r) => api.run(project, r)));
  const values: FieldValue[][] = await Promise.all(runs.map((r) => api.values(project, r.run_key)));
  const byPath = values.map((vs) => new Map(vs.map((v) => [v.path, v])));
  const name = (i: number) => formatValue(byPath[i].get("sys/name")?.value);
  const lines: ChartLine[] = runs.map((r, i) => ({ run: r.run_key, label: `${r.run_id} ${name(i)}`, color: PALETTE[i % PALETTE.length], created: r.created }));
  const paths = [...new Set(values.flat().filter((v) => v.type === "floatSeries").map((v) => v.path))].sort();
  const panel = new ChartsPanel(project, lines, paths, params);

  const allPaths = [...new Set(values.flat().filter((v) => !["fileSeries", "fileSet", "file"].includes(v.type)).map((v) => v.path))].sort();
  const diffOnly = h("input", { type: "checkbox", checked: params.get("diff") === "1" });
  const tbody = h("tbody");
  const renderTable = () => {
    const cells = (p: string) => byPath.map((m) => formatValue(m.get(p)?.value));
    const rows = allPaths.filter((p) => !diffOnly.checked || new Set(cells(p)).size > 1);
    tbody.replaceChildren(...rows.map((p) => h("tr", { "data-path": p }, h("th", { scope: "row" }, p), ...cells(p).map((c) => h("td", {}, c)))));
  };
  diffOnly.addEventListener("change", () => { updateParams({ diff: diffOnly.checked ? "1" : null }); renderTable(); });
  renderTable();

  root.replaceChildren(
    h("nav.crumbs", {}, h("a", { href: href("projects") }, "Projects"), " / ", h("a", { href: href("runs", project) }, project), " / compare"),
    h("h1", {}, `Compare ${runs.length} runs`),
    h("div.legend", {}, ...lines.map((l) => h("a.legend-item", { href: href("run", project, l.run) }, h("span.swatch", { style: `background:${l.color}` }), l.label))),
    panel.element,
    h("h2", {}, "Fields"),
    h("label", {}, diffOnly, " only differences"),
    h("div.table-wrap", {}, h("table.grid.side-by-side", { "aria-label": "fields side by side" },
      h("thead", {}, h("tr", {}, h("th", {}, "field"), ...lines.map((l) => h("th", { scope: "col" }, h("span.swatch", { style: `background:${l.color}` }), l.label)))),
      tbody)),
  );
  await panel.load();
  return () => panel.destroy();
}
