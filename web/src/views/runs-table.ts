// The runs table: columns picked from every field path, sort by any column, a filter (the store's
// `where` language, with a builder), tag and state chips, a selection for compare, and every
// matching run in one virtually scrolled table (rows fetched in blocks as the view reaches them).
// Everything is in the URL: cols, sort, asc, q, tags, state, sel.

import { api, type ProjectField, type RunRow } from "../api";
import { clear, formatTime, formatValue, h } from "../dom";
import { href, joinList, list, updateParams } from "../url-state";
import { VirtualRows } from "../virtual-rows";

const CREATED = "";  // sort key of the creation time (the store's default order)
const BLOCK = 200;
const REST_MS = 60;
const MAX_COMPARE = 20;
// column widths: style.css gives the fixed columns theirs (table.runs :nth-child) and each picked one 130 px
const COLUMN_WIDTH = 130;
const FIXED_WIDTH = 36 + 100 + 180 + 100 + 180 + 215;
const FIXED: { label: string; sort: string | null }[] = [
  { label: "", sort: null }, { label: "id", sort: null }, { label: "name", sort: "sys/name" },
  { label: "state", sort: "sys/state" }, { label: "tags", sort: null }, { label: "created", sort: CREATED },
];
const OPS = ["==", "!=", ">", ">=", "<", "<="];

interface State { cols: string[]; sort: string; asc: boolean; q: string; tags: string[]; state: string; sel: string[] }

function readState(params: URLSearchParams): State {
  return {
    cols: list(params, "cols"), sort: params.get("sort") ?? CREATED, asc: params.get("asc") === "1",
    q: params.get("q") ?? "", tags: list(params, "tags"), state: params.get("state") ?? "",
    sel: list(params, "sel").slice(0, MAX_COMPARE),
  };
}

function writeState(s: State): void {
  updateParams({
    cols: joinList(s.cols), sort: s.sort || null, asc: s.asc ? "1" : null, q: s.q, tags: joinList(s.tags),
    state: s.state, sel: joinList(s.sel),
  });
}

export function conditions(text: string): string[] {
  return text.split(/\s+AND\s+|;/i).map((c) => c.trim()).filter(Boolean);
}

export async function runsTableView(root: HTMLElement, project: string, params: URLSearchParams): Promise<void> {
  const s = readState(params);
  // the field list only feeds the column picker and the builder: the rows do not wait for it
  let fields: ProjectField[] = [];
  const fieldsLoaded = api.fields(project);
  // the rows are positioned blocks (virtual-rows.ts), so the table roles are spelled out
  const body = h("tbody", { role: "rowgroup" });
  const head = h("thead", { role: "rowgroup" });
  const summary = h("span.muted", { "aria-live": "polite" });
  const error = h("p.error", { role: "alert" });
  const chosen = h("div.chips", { "aria-label": "columns" });
  const tagChips = h("div.chips", { "aria-label": "tag filters" });
  const compare = h("a.button", { href: "#" }, "Compare");
  const selectionNote = h("span.note", { role: "status" });
  const table = h("table.grid.runs", { "aria-label": "runs", role: "table" }, head, body);
  const wrap = h("div.table-wrap.runs-wrap", {}, table);

  // rows come in blocks of BLOCK from the store, fetched when the window reaches them; a new
  // query (filter, sort, columns) starts a new generation and answers of older ones are dropped
  const blocks = new Map<number, RunRow[]>();
  const asked = new Set<number>();
  let generation = 0;
  const fetchRows = (offset: number) => api.runs(project, {
    columns: ["sys/name", "sys/state", "sys/tags", ...s.cols], where: conditions(s.q), tags: s.tags,
    state: s.state, sortBy: s.sort, ascending: s.asc, limit: BLOCK, offset,
  });
  const rowAt = (i: number): RunRow | undefined => blocks.get(Math.floor(i / BLOCK))?.[i % BLOCK];
  const fetchBlocks = (first: number, last: number) => {
    for (let b = Math.floor(first / BLOCK); b * BLOCK < last; b++) {
      if (asked.has(b)) continue;
      asked.add(b);
      const g = generation;
      fetchRows(b * BLOCK).then(({ rows }) => {
        if (g !== generation) return;
        blocks.set(b, rows);
        virtual.refresh();
      }, (err: Error) => {
        if (g !== generation) return;
        asked.delete(b);
        error.textContent = err.message;
      });
    }
  };
  let needTimer: number | undefined;
  const virtual = new VirtualRows(wrap, table, body, {
    build: (i) => { const row = rowAt(i); return row ? renderRow(row) : placeholder(); },
    ready: (i) => rowAt(i) !== undefined,
    need: (first, last) => {
      // blocks are asked for once the window rests a moment: a fast scroll does not ask for
      // every block it flies past (each answer costs the store a query over the project)
      window.clearTimeout(needTimer);
      needTimer = window.setTimeout(() => fetchBlocks(first, last), REST_MS);
    },
  });

  const renderCompare = () => {
    compare.textContent = `Compare (${s.sel.length})`;
    compare.setAttribute("href", href("compare", project, "", new URLSearchParams({ runs: joinList(s.sel) })));
    compare.classList.toggle("disabled", s.sel.length < 1);
  };

  const update = async () => {
    writeState(s);
    renderChosen();
    renderTagChips();
    renderCompare();
    const g = ++generation;
    blocks.clear();
    asked.clear();
    try {
      asked.add(0);
      const { rows, total } = await fetchRows(0);
      if (g !== generation) return;
      blocks.set(0, rows);
      error.textContent = "";
      renderHead();
      summary.textContent = total ? `${total} run${total === 1 ? "" : "s"}` : "no run matches";
      virtual.reset(total);
    } catch (err) {
      if (g !== generation) return;
      error.textContent = `Filter refused: ${(err as Error).message}`;
      virtual.reset(0);
    }
  };

  const sortBy = (key: string) => {
    s.asc = s.sort === key ? !s.asc : false;
    s.sort = key;
    update();
  };

  const renderHead = () => {
    const th = (label: string, key: string | null) => {
      const sorted = key !== null && s.sort === key;
      const aria = sorted ? (s.asc ? "ascending" : "descending") : "none";
      return h("th", { role: "columnheader", "aria-sort": key === null ? undefined : aria, scope: "col", title: label },
        key === null ? label : h("button.sort", { type: "button", onclick: () => sortBy(key) }, label, sorted ? (s.asc ? " ▲" : " ▼") : ""));
    };
    table.style.setProperty("--row-width", `${FIXED_WIDTH + s.cols.length * COLUMN_WIDTH}px`);
    clear(head, h("tr", { role: "row", "aria-rowindex": "1" }, ...FIXED.map((c) => th(c.label, c.sort)), ...s.cols.map((c) => th(c, c))));
  };

  const placeholder = () => h("tr.loading", { role: "row" }, h("td", { role: "cell" }, "…"));

  const renderRow = (row: RunRow) => {
    const key = row.run.run_key;
    const box = h("input", {
      type: "checkbox", checked: s.sel.includes(key), "aria-label": `select ${row.run.run_id}`, tabIndex: -1,
      onchange: (e: Event) => {
        const input = e.target as HTMLInputElement;
        if (input.checked && s.sel.length >= MAX_COMPARE) {
          input.checked = false;
          selectionNote.textContent = `Compare takes up to ${MAX_COMPARE} runs: unselect one first.`;
          return;
        }
        selectionNote.textContent = "";
        s.sel = input.checked ? [...s.sel, key] : s.sel.filter((k) => k !== key);
        writeState(s);
        renderCompare();
      },
    });
    const link = h("a", { href: href("run", project, key), tabIndex: -1 }, row.run.run_id);
    const state = String(row.fields["sys/state"] ?? "");
    const tags = (row.fields["sys/tags"] as string[] | undefined) ?? [];
    const cell = { role: "cell" };
    return h("tr", { "data-run": key, role: "row" },
      h("td", cell, box), h("td", cell, link), h("td", cell, formatValue(row.fields["sys/name"])),
      h("td", cell, state ? h(`span.chip.state-${state.toLowerCase()}`, {}, state) : ""),
      h("td", cell, ...tags.map((t) => h("button.chip.tag", { type: "button", tabIndex: -1, title: `only runs tagged ${t}`, onclick: () => addTag(t) }, t))),
      h("td", cell, formatTime(row.run.created)),
      ...s.cols.map((c) => {
        const text = formatValue(row.fields[c]);
        return h("td", { role: "cell", class: typeof row.fields[c] === "number" ? "num" : "", title: text }, text);
      }),
    );
  };

  const addTag = (t: string) => { if (!s.tags.includes(t)) s.tags = [...s.tags, t]; update(); };
  const renderTagChips = () => clear(tagChips, ...s.tags.map((t) =>
    h("button.chip.tag", { type: "button", title: "remove tag filter", onclick: () => { s.tags = s.tags.filter((x) => x !== t); update(); } }, `tag: ${t} ×`)));
  const renderChosen = () => clear(chosen, ...s.cols.map((c) =>
    h("button.chip", { type: "button", title: `remove column ${c}`, onclick: () => { s.cols = s.cols.filter((x) => x !== c); update(); } }, `${c} ×`)));

  // column picker: a search box over every field path of the project
  const matches = h("ul.picker", { role: "listbox", "aria-label": "field paths" });
  const search = h("input", { type: "search", placeholder: "add column: search field paths", "aria-label": "search columns" });
  const renderMatches = () => {
    const needle = search.value.toLowerCase();
    const found = needle ? fields.filter((f) => f.path.toLowerCase().includes(needle)).slice(0, 30) : [];
    matches.replaceChildren(...found.map((f: ProjectField) =>
      h("li", {}, h("button", { type: "button", onclick: () => {
        if (!s.cols.includes(f.path)) s.cols = [...s.cols, f.path];
        search.value = "";
        renderMatches();
        update();
      } }, f.path, h("span.muted", {}, ` ${f.type} · ${f.runs} runs`)))));
  };
  search.addEventListener("input", renderMatches);

  // filter: text (conditions joined by AND) and a builder for one condition at a time
  const text = h("input.filter", { type: "search", value: s.q, placeholder: "filter, e.g. params/lr > 0.01 AND sys/owner == 'me'", "aria-label": "filter runs" });
  text.addEventListener("change", () => { s.q = text.value; update(); });
  const path = h("select", { "aria-label": "filter field" });
  const op = h("select", { "aria-label": "filter operator" }, ...OPS.map((o) => h("option", { value: o }, o)));
  const value = h("input", { type: "text", placeholder: "value", "aria-label": "filter value", size: 10 });
  const addCondition = () => {
    if (!value.value.trim()) return;
    const v = /^-?[\d.e+-]+$|^(true|false)$/i.test(value.value.trim()) ? value.value.trim() : `'${value.value.trim()}'`;
    s.q = [...conditions(s.q), `${path.value} ${op.value} ${v}`].join(" AND ");
    text.value = s.q;
    value.value = "";
    update();
  };
  const stateSelect = h("select", { "aria-label": "state", onchange: (e: Event) => { s.state = (e.target as HTMLSelectElement).value; update(); } },
    ...["", "active", "inactive"].map((v) => h("option", { value: v, selected: v === s.state }, v || "any state")));

  body.addEventListener("keydown", (e) => {
    const row = e.target as HTMLElement;
    if (row.tagName !== "TR") return;
    if (e.key === "Enter") row.querySelector("a")?.click();
    else if (e.key === " ") { e.preventDefault(); row.querySelector("input")?.click(); }
  });
  root.replaceChildren(
    h("nav.crumbs", {}, h("a", { href: href("projects") }, "Projects"), " / ", project),
    h("div.toolbar", {}, h("h1", {}, "Runs"), summary, compare, selectionNote),
    h("div.toolbar", {}, text, stateSelect),
    h("div.toolbar.builder", {}, path, op, value, h("button", { type: "button", onclick: addCondition }, "add condition")),
    tagChips,
    h("div.toolbar", {}, h("div.column-search", {}, search, matches), chosen),
    error,
    wrap,
  );
  await update();
  fields = await fieldsLoaded;
  path.replaceChildren(...[...new Set(fields.map((f) => f.path))].map((p) => h("option", { value: p }, p)));
  renderMatches();
}
