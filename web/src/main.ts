// Entry point: the token gate, the hash router and the theme switch.

import { ApiError, token } from "./api";
import { h } from "./dom";
import { parseRoute } from "./url-state";
import { compareView } from "./views/compare";
import { projectsView } from "./views/projects";
import { runView } from "./views/run";
import { runsTableView } from "./views/runs-table";
import "./style.css";

const app = document.getElementById("app")!;
const content = h("div.content");
let cleanup: (() => void) | void;

function themeToggle(): HTMLElement {
  const saved = localStorage.getItem("neptune-sync-theme");
  if (saved) document.documentElement.dataset.theme = saved;
  return h("button.small", { type: "button", "aria-label": "toggle dark mode", onclick: () => {
    const current = document.documentElement.dataset.theme ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    document.documentElement.dataset.theme = current === "dark" ? "light" : "dark";
    localStorage.setItem("neptune-sync-theme", document.documentElement.dataset.theme);
    render();
  } }, "◐ theme");
}

function tokenForm(message = ""): HTMLElement {
  const input = h("input", { type: "password", autocomplete: "off", "aria-label": "API token", placeholder: "NEPTUNE_API_TOKEN", size: 50 });
  const form = h("form.token-form", {},
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API token of this store (the read scope is enough). It is kept for this browser tab only."),
    message ? h("p.error", { role: "alert" }, message) : null,
    input, " ", h("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    token.set(input.value);
    render();
  });
  setTimeout(() => input.focus());
  return form;
}

async function render(): Promise<void> {
  if (cleanup) cleanup();
  cleanup = undefined;
  if (!token.get()) {
    content.replaceChildren(tokenForm());
    return;
  }
  const route = parseRoute();
  content.replaceChildren(h("p.muted", {}, "loading…"));
  try {
    if (route.view === "projects") await projectsView(content);
    else if (route.view === "runs") await runsTableView(content, route.project, route.params);
    else if (route.view === "run") cleanup = await runView(content, route.project, route.run, route.params);
    else cleanup = await compareView(content, route.project, route.params);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      token.clear();
      content.replaceChildren(tokenForm(err.message));
    } else {
      content.replaceChildren(h("p.error", { role: "alert" }, (err as Error).message));
    }
  }
}

app.replaceChildren(
  h("header.top", {}, h("a.brand", { href: "#/" }, "neptune-sync"), h("span.spacer"),
    h("button.small", { type: "button", onclick: () => { token.clear(); render(); } }, "sign out"), themeToggle()),
  content,
);
window.addEventListener("hashchange", () => {
  render();
});
render();
