// The runs table: columns picked from every field path, sort by any column, a filter (the store's
// `where` language, with a builder), tag and state chips, server-side pages, a selection for
// compare. Everything is in the URL: cols, sort, asc, q, tags, state, sel, page.

import { api, type ProjectField, type RunRow } from "../api";
import { clear, formatTime, formatValue, h } from "../dom";
import { href, joinList, list, updateParams } from "../url-state";

const PAGE = 50;
const OPS = ["==", "!=", ">", ">=", "<", "<="];
const CREATED = "";  // sort key of the creation time (the store's default order)

interface State { cols: string[]; sort: string; asc: boolean; q: string; tags: string[]; state: string; sel: string[]; page: number }

function readState(params: URLSearchParams): State {
  return {
    cols: list(params, "cols"), sort: params.get("sort") ?? CREATED, asc: params.get("asc") === "1",
    q: params.get("q") ?? "", tags: list(params, "tags"), state: params.get("state") ?? "",
    sel: list(params, "sel"), page: Math.max(0, Number(params.get("page") ?? 0) || 0),
  };
}

function writeState(s: State): void {
  updateParams({
    cols: joinList(s.cols), sort: s.sort || null, asc: s.asc ? "1" : null, q: s.q, tags: joinList(s.tags),
    state: s.state, sel: joinList(s.sel), page: s.page ? String(s.page) : null,
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
  const body = h("tbody");
  const head = h("thead");
  const summary = h("span.muted", { "aria-live": "polite" });
  const error = h("p.error", { role: "alert" });
  const chosen = h("div.chips", { "aria-label": "columns" });
  const tagChips = h("div.chips", { "aria-label": "tag filters" });
  const compare = h("a.button", { href: "#" }, "Compare");
  const pager = h("div.pager");

  const update = async () => {
    writeState(s);
    renderChosen();
    renderTagChips();
    compare.textContent = `Compare (${s.sel.length})`;
    compare.setAttribute("href", href("compare", project, "", new URLSearchParams({ runs: joinList(s.sel) })));
    compare.classList.toggle("disabled", s.sel.length < 1);
    try {
      const { rows, total } = await api.runs(project, {
        columns: ["sys/name", "sys/state", "sys/tags", ...s.cols], where: conditions(s.q), tags: s.tags,
        state: s.state, sortBy: s.sort, ascending: s.asc, limit: PAGE, offset: s.page * PAGE,
      });
      error.textContent = "";
      renderHead();
      renderRows(rows);
      summary.textContent = total ? `runs ${s.page * PAGE + 1}–${s.page * PAGE + rows.length} of ${total}` : "no run matches";
      renderPager(total);
    } catch (err) {
      error.textContent = `Filter refused: ${(err as Error).message}`;
      body.replaceChildren();
    }
  };

  const sortBy = (key: string) => {
    s.asc = s.sort === key ? !s.asc : false;
    s.sort = key;
    s.page = 0;
    update();
  };

  const renderHead = () => {
    const th = (label: string, key: string | null) => {
      const sorted = key !== null && s.sort === key;
      const aria = sorted ? (s.asc ? "ascending" : "descending") : "none";
      return h("th", { "aria-sort": key === null ? undefined : aria, scope: "col" },
        key === null ? label : h("button.sort", { type: "button", onclick: () => sortBy(key) }, label, sorted ? (s.asc ? " ▲" : " ▼") : ""));
    };
    clear(head, h("tr", {}, th("", null), th("id", null), th("name", "sys/name"), th("state", "sys/state"), th("tags", null), th("created", CREATED), ...s.cols.map((c) => th(c, c))));
  };

  const renderRows = (rows: RunRow[]) => {
    body.replaceChildren(...rows.map((row) => {
      const key = row.run.run_key;
      const box = h("input", {
        type: "checkbox", checked: s.sel.includes(key), "aria-label": `select ${row.run.run_id}`, tabIndex: -1,
        onchange: (e: Event) => {
          const on = (e.target as HTMLInputElement).checked;
          s.sel = on ? [...s.sel, key].slice(-20) : s.sel.filter((k) => k !== key);
          writeState(s);
          compare.textContent = `Compare (${s.sel.length})`;
          compare.setAttribute("href", href("compare", project, "", new URLSearchParams({ runs: joinList(s.sel) })));
          compare.classList.toggle("disabled", s.sel.length < 1);
        },
      });
      const link = h("a", { href: href("run", project, key), tabIndex: -1 }, row.run.run_id);
      const state = String(row.fields["sys/state"] ?? "");
      const tags = (row.fields["sys/tags"] as string[] | undefined) ?? [];
      return h("tr", { tabIndex: 0, "data-run": key },
        h("td", {}, box), h("td", {}, link), h("td", {}, formatValue(row.fields["sys/name"])),
        h("td", {}, state ? h(`span.chip.state-${state.toLowerCase()}`, {}, state) : ""),
        h("td", {}, ...tags.map((t) => h("button.chip.tag", { type: "button", tabIndex: -1, title: `only runs tagged ${t}`, onclick: () => addTag(t) }, t))),
        h("td", {}, formatTime(row.run.created)),
        ...s.cols.map((c) => h("td", { class: typeof row.fields[c] === "number" ? "num" : "" }, formatValue(row.fields[c]))),
      );
    }));
  };

  const renderPager = (total: number) => {
    const last = Math.max(0, Math.ceil(total / PAGE) - 1);
    const go = (page: number) => () => { s.page = Math.min(last, Math.max(0, page)); update(); };
    clear(pager,
      h("button", { type: "button", disabled: s.page === 0, onclick: go(s.page - 1) }, "‹ prev"),
      h("span", {}, ` page ${s.page + 1} of ${last + 1} `),
      h("button", { type: "button", disabled: s.page >= last, onclick: go(s.page + 1) }, "next ›"));
  };

  const addTag = (t: string) => { if (!s.tags.includes(t)) s.tags = [...s.tags, t]; s.page = 0; update(); };
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
  text.addEventListener("change", () => { s.q = text.value; s.page = 0; update(); });
  const path = h("select", { "aria-label": "filter field" });
  const op = h("select", { "aria-label": "filter operator" }, ...OPS.map((o) => h("option", { value: o }, o)));
  const value = h("input", { type: "text", placeholder: "value", "aria-label": "filter value", size: 10 });
  const addCondition = () => {
    if (!value.value.trim()) return;
    const v = /^-?[\d.e+-]+$|^(true|false)$/i.test(value.value.trim()) ? value.value.trim() : `'${value.value.trim()}'`;
    s.q = [...conditions(s.q), `${path.value} ${op.value} ${v}`].join(" AND ");
    text.value = s.q;
    value.value = "";
    s.page = 0;
    update();
  };
  const stateSelect = h("select", { "aria-label": "state", onchange: (e: Event) => { s.state = (e.target as HTMLSelectElement).value; s.page = 0; update(); } },
    ...["", "active", "inactive"].map((v) => h("option", { value: v, selected: v === s.state }, v || "any state")));

  const table = h("table.grid.runs", { "aria-label": "runs" }, head, body);
  table.addEventListener("keydown", (e) => keyboard(e, body));
  root.replaceChildren(
    h("nav.crumbs", {}, h("a", { href: href("projects") }, "Projects"), " / ", project),
    h("div.toolbar", {}, h("h1", {}, "Runs"), summary, compare),
    h("div.toolbar", {}, text, stateSelect),
    h("div.toolbar.builder", {}, path, op, value, h("button", { type: "button", onclick: addCondition }, "add condition")),
    tagChips,
    h("div.toolbar", {}, h("div.column-search", {}, search, matches), chosen),
    error,
    h("div.table-wrap", {}, table),
    pager,
  );
  await update();
  fields = await fieldsLoaded;
  path.replaceChildren(...[...new Set(fields.map((f) => f.path))].map((p) => h("option", { value: p }, p)));
  renderMatches();
}

/** Arrow keys move between rows, Enter opens the run, Space toggles its selection. */
function keyboard(e: KeyboardEvent, body: HTMLElement): void {
  const row = (e.target as HTMLElement).closest("tr");
  if (!row || row.parentElement !== body) return;
  const move = (to: Element | null) => { if (to instanceof HTMLElement) { e.preventDefault(); to.focus(); } };
  if (e.key === "ArrowDown") move(row.nextElementSibling);
  else if (e.key === "ArrowUp") move(row.previousElementSibling);
  else if (e.key === "Home") move(body.firstElementChild);
  else if (e.key === "End") move(body.lastElementChild);
  else if (e.key === "Enter") row.querySelector("a")?.click();
  else if (e.key === " ") { e.preventDefault(); row.querySelector("input")?.click(); }
}
