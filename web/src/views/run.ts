// A run: its field tree (namespaces fold), atom values, charts of float series, string series as a
// log tail, files with download and preview, image series with a step slider, file sets and
// artifacts. While the run is active the page polls: values and charts update without a reload.

import { api, type FieldValue, type FileRef, type RunRecord } from "../api";
import { PALETTE } from "../chart";
import { ChartsPanel } from "../charts-panel";
import { formatTime, formatValue, h } from "../dom";
import { href } from "../url-state";

export const POLL_MS = 2000;
const TAIL = 1000;
const IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg)$/i;
const TEXT = /\.(txt|log|json|csv|tsv|md|py|ya?ml|toml|ini|cfg|sh|xml)$/i;

export function isActive(values: FieldValue[]): boolean {
  const state = values.find((v) => v.path === "sys/state")?.value;
  return typeof state === "string" && ["active", "running"].includes(state.toLowerCase());
}

export async function runView(root: HTMLElement, project: string, ident: string, params: URLSearchParams): Promise<() => void> {
  const run = await api.run(project, ident);
  let values = await api.values(project, run.run_key);
  const name = formatValue(values.find((v) => v.path === "sys/name")?.value);
  const floats = values.filter((v) => v.type === "floatSeries").map((v) => v.path);
  const panel = new ChartsPanel(project, [{ run: run.run_key, label: `${run.run_id} ${name}`, color: PALETTE[0], created: run.created }], floats, params);
  const tree = h("div.tree", { role: "tree", "aria-label": "fields" });
  const state = h("span");
  const renderHeader = () => {
    const s = String(values.find((v) => v.path === "sys/state")?.value ?? "");
    state.replaceChildren(s ? h(`span.chip.state-${s.toLowerCase()}`, {}, s) : "");
  };
  renderHeader();
  tree.append(fieldTree(project, run, values));
  root.replaceChildren(
    h("nav.crumbs", {}, h("a", { href: href("projects") }, "Projects"), " / ", h("a", { href: href("runs", project) }, project), " / ", run.run_id),
    h("div.toolbar", {}, h("h1", {}, `${run.run_id} `, h("span.muted", {}, name)), state, h("span.muted", {}, `created ${formatTime(run.created)}`)),
    h("div.run-layout", {}, h("aside.fields", {}, h("h2", {}, "Fields"), tree), h("div.run-main", {}, h("h2", {}, "Charts"), panel.element)),
  );
  await panel.load();

  let timer: number | undefined;
  const poll = async () => {
    try {
      const seen = JSON.stringify(values);
      values = await api.values(project, run.run_key);
      renderHeader();
      if (JSON.stringify(values) !== seen) refreshTree(tree, fieldTree(project, run, values));
      await panel.load();
    } finally {
      if (isActive(values) && root.isConnected) timer = window.setTimeout(poll, POLL_MS);
    }
  };
  if (isActive(values)) timer = window.setTimeout(poll, POLL_MS);
  return () => {
    window.clearTimeout(timer);
    panel.destroy();
  };
}

/** Swap in a new tree keeping which namespaces the reader folded or unfolded. */
function refreshTree(tree: HTMLElement, next: HTMLElement): void {
  const open = new Map([...tree.querySelectorAll<HTMLDetailsElement>("details[data-ns]")].map((d) => [d.dataset.ns, d.open]));
  next.querySelectorAll<HTMLDetailsElement>("details[data-ns]").forEach((d) => {
    const was = open.get(d.dataset.ns);
    if (was !== undefined) d.open = was;
  });
  tree.replaceChildren(next);
}

interface Node { children: Map<string, Node>; field?: FieldValue }

function fieldTree(project: string, run: RunRecord, values: FieldValue[]): HTMLElement {
  const top: Node = { children: new Map() };
  for (const v of values) {
    let node = top;
    for (const part of v.path.split("/")) {
      if (!node.children.has(part)) node.children.set(part, { children: new Map() });
      node = node.children.get(part)!;
    }
    node.field = v;
  }
  const render = (node: Node, prefix: string, depth = 0): HTMLElement =>
    h("ul", { role: "group" }, ...[...node.children].map(([part, child]) => {
      if (child.field) return h("li.leaf", { role: "treeitem", "data-path": child.field.path }, fieldRow(project, run, part, child.field));
      const ns = prefix + part;
      return h("li", { role: "treeitem" }, h("details", { open: depth < 2, "data-ns": ns }, h("summary", {}, part), render(child, ns + "/", depth + 1)));
    }));
  return render(top, "");
}

function fieldRow(project: string, run: RunRecord, label: string, f: FieldValue): HTMLElement {
  const head = h("div.field", {}, h("span.field-name", {}, label), h("span.type", {}, f.type));
  switch (f.type) {
    case "file":
      return h("div", {}, head, fileActions(project, run, f.path, f.value as FileRef, []));
    case "fileSet":
      return h("div", {}, head, h("ul.files", {}, ...Object.entries((f.value ?? {}) as Record<string, FileRef>).map(([member, ref]) =>
        h("li", {}, fileActions(project, run, f.path, { ...ref, name: ref.name || member }, [["member", member]])))));
    case "artifact": {
      const art = f.value as { sha256: string; files: { relpath: string; sha256: string; size: number }[] };
      return h("div", {}, head, h("div.hash", {}, `hash ${art.sha256}`), h("ul.files", {}, ...art.files.map((x) => h("li", {}, `${x.relpath} · ${x.size} B · ${x.sha256.slice(0, 12)}`))));
    }
    case "stringSeries":
      return h("div", {}, head, logTail(project, run, f));
    case "fileSeries":
      return h("div", {}, head, gallery(project, run, f));
    case "stringSet":
      return h("div", {}, head, h("span.value", {}, ...((f.value as string[]) ?? []).map((t) => h("span.chip.tag", {}, t))));
    default:
      return h("div", {}, head, h("span.value", {}, f.type === "floatSeries" ? `last ${formatValue(f.value)} @ step ${f.last_step}` : formatValue(f.value)));
  }
}

function fileActions(project: string, run: RunRecord, path: string, ref: FileRef, extra: [string, string][]): HTMLElement {
  const name = ref.name || `${path.split("/").pop()}${ref.extension ? "." + ref.extension : ""}`;
  const preview = h("div.preview");
  const download = async () => {
    const blob = await api.file(project, run.run_key, path, extra);
    const a = h("a", { href: URL.createObjectURL(blob), download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };
  const show = async () => {
    try {
      preview.replaceChildren(await previewOf(await api.file(project, run.run_key, path, extra), name));
    } catch (err) {
      preview.replaceChildren(h("p.error", {}, (err as Error).message));
    }
  };
  const canPreview = IMAGE.test(name) || /\.html?$/i.test(name) || TEXT.test(name);
  const actions = h("div.file", {}, h("span", {}, `${name} (${ref.size} B)`), h("button.small", { type: "button", onclick: download }, "download"),
    canPreview ? h("button.small", { type: "button", onclick: show }, "preview") : null, preview);
  if (canPreview && IMAGE.test(name)) show();
  return actions;
}

async function previewOf(blob: Blob, name: string): Promise<HTMLElement> {
  if (IMAGE.test(name)) return h("img", { src: URL.createObjectURL(blob), alt: name });
  if (/\.html?$/i.test(name)) {
    // no allow-scripts, no allow-same-origin: the page can neither run code nor read the app's session
    return h("iframe", { sandbox: "", src: URL.createObjectURL(new Blob([blob], { type: "text/html" })), title: name });
  }
  const text = await blob.slice(0, 100_000).text();
  return h("pre.text-preview", {}, text);
}

function logTail(project: string, run: RunRecord, f: FieldValue): HTMLElement {
  const box = h("div.log", { tabIndex: 0, "aria-label": `log ${f.path}` });
  const start = (f.last_step ?? 0) - TAIL + 1;
  api.series(project, run.run_key, f.path, start, TAIL).then((page) => {
    box.replaceChildren(...page.points.map(([step, text]) => h("div.log-line", {}, h("span.step", {}, String(step)), String(text))));
    box.scrollTop = box.scrollHeight;
  });
  return box;
}

function gallery(project: string, run: RunRecord, f: FieldValue): HTMLElement {
  const view = h("div.gallery");
  api.series(project, run.run_key, f.path, -1e300, TAIL).then((page) => {
    const points = page.points;
    if (!points.length) return;
    const img = h("img", { alt: `${f.path} image` });
    const label = h("span.muted");
    const show = async (i: number) => {
      const [step, ref] = points[i];
      label.textContent = `step ${step} (${i + 1} of ${points.length}) ${(ref as FileRef).name || ""}`;
      const blob = await api.file(project, run.run_key, f.path, [["step", String(step)]]);
      URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(blob);
    };
    const slider = h("input", { type: "range", min: "0", max: String(points.length - 1), value: String(points.length - 1), "aria-label": `${f.path} step`,
      oninput: (e: Event) => show(Number((e.target as HTMLInputElement).value)) });
    view.replaceChildren(slider, label, img);
    show(points.length - 1);
  });
  return view;
}
