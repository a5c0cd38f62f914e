import { api } from "../api";
import { formatTime, h } from "../dom";
import { href } from "../url-state";

export async function projectsView(root: HTMLElement): Promise<void> {
  const projects = await api.projects();
  root.replaceChildren(
    h("h1", {}, "Projects"),
    projects.length ? "" : h("p.muted", {}, "This token may read no project."),
    h(
      "table.grid",
      { "aria-label": "projects" },
      h("thead", {}, h("tr", {}, h("th", {}, "project"), h("th", {}, "runs"), h("th", {}, "last activity"))),
      h(
        "tbody",
        {},
        ...projects.map((p) =>
          h("tr", {}, h("td", {}, h("a", { href: href("runs", p.project) }, p.project)), h("td.num", {}, p.runs), h("td", {}, formatTime(p.last_activity))),
        ),
      ),
    ),
  );
}
