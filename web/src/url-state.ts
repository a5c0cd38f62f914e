// The URL is the state: every view reads what it shows from the hash route and writes changes
// back with replaceState/pushState, so a link reproduces the view. The hash never reaches the server.

export interface Route {
  view: "projects" | "runs" | "run" | "compare";
  project: string;
  run: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string = location.hash): Route {
  const [path, query = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === "p" && parts.length >= 3) {
    const project = parts[1];
    if (parts[2] === "run" && parts[3]) return { view: "run", project, run: parts[3], params };
    if (parts[2] === "compare") return { view: "compare", project, run: "", params };
    return { view: "runs", project, run: "", params };
  }
  return { view: "projects", project: "", run: "", params };
}

export function href(view: Route["view"], project = "", run = "", params?: URLSearchParams): string {
  const query = params && [...params].length ? "?" + params.toString() : "";
  const p = encodeURIComponent(project);
  if (view === "runs") return `#/p/${p}/runs${query}`;
  if (view === "run") return `#/p/${p}/run/${encodeURIComponent(run)}${query}`;
  if (view === "compare") return `#/p/${p}/compare${query}`;
  return "#/";
}

/** Change query parameters of the current route without adding a history entry or re-rendering. */
export function updateParams(changes: Record<string, string | null>): URLSearchParams {
  const route = parseRoute();
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === "") route.params.delete(key);
    else route.params.set(key, value);
  }
  history.replaceState(null, "", href(route.view, route.project, route.run, route.params));
  return route.params;
}

export function list(params: URLSearchParams, key: string): string[] {
  return (params.get(key) ?? "").split(",").filter(Boolean).map(decodeURIComponent);
}

export function joinList(values: string[]): string {
  return values.map((v) => encodeURIComponent(v)).join(",");
}
