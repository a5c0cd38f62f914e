// The one client of the store's read API (docs/openapi.yaml). Views never build URLs or parse
// errors themselves. The token lives in sessionStorage only and travels in the Authorization header.

const TOKEN_KEY = "neptune-sync-token";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

export interface ProjectSummary { project: string; runs: number; last_activity: number | null }
export interface ProjectField { path: string; type: string; runs: number }
export interface RunRecord { project: string; run_key: string; run_id: string; custom_run_id: string; kind: string; created: number }
export interface RunRow { run: RunRecord; fields: Record<string, unknown> }
export interface FieldValue { path: string; type: string; value: unknown; last_step: number | null }
export interface FileRef { sha256: string; size: number; name: string; extension: string }
export interface SeriesPage { path: string; type: string; points: [number, unknown, number][]; next_after: number | null }
export interface Buckets {
  run: string; path: string; x: "step" | "time"; raw: boolean; lo: number | null; hi: number | null;
  first_step: number[]; step: number[]; min: (number | null)[]; max: (number | null)[];
  last: (number | null)[]; count: number[]; ts: number[]; sampled: boolean; snapped?: boolean;
}
export interface RunsQuery {
  columns: string[]; where: string[]; tags: string[]; state: string; sortBy: string; ascending: boolean;
  limit: number; offset: number;
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

type Params = [string, string | number | boolean][];

async function request(path: string, params: Params): Promise<Response> {
  const query = new URLSearchParams(params.map(([k, v]) => [k, String(v)])).toString();
  const response = await fetch(`${path}${query ? "?" + query : ""}`, {
    headers: { Authorization: `Bearer ${token.get() ?? ""}` },
  });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).message ?? message;
    } catch {
      /* not a JSON error body */
    }
    if (response.status === 401) message = `The store refused the token: ${message}`;
    throw new ApiError(response.status, message);
  }
  return response;
}

async function json<T>(path: string, params: Params = []): Promise<T> {
  return (await request(path, params)).json() as Promise<T>;
}

export const api = {
  projects: () => json<ProjectSummary[]>("/v1/projects"),
  fields: (project: string) => json<ProjectField[]>("/v1/project/fields", [["project", project]]),
  run: (project: string, run: string) => json<RunRecord>("/v1/run", [["project", project], ["run", run]]),
  values: (project: string, run: string) =>
    json<FieldValue[]>("/v1/run/values", [["project", project], ["run", run]]),
  series: (project: string, run: string, path: string, start: number, limit: number) =>
    json<SeriesPage>("/v1/run/series", [["project", project], ["run", run], ["path", path], ["start", start], ["limit", limit]]),
  async runs(project: string, q: RunsQuery): Promise<{ rows: RunRow[]; total: number }> {
    const params: Params = [["project", project], ["limit", q.limit], ["offset", q.offset], ["ascending", q.ascending]];
    if (q.columns.length) params.push(["columns", q.columns.join(",")]);
    for (const w of q.where) params.push(["where", w]);
    for (const t of q.tags) params.push(["tag", t]);
    if (q.state) params.push(["state", q.state]);
    if (q.sortBy) params.push(["sort_by", q.sortBy]);
    const response = await request("/v1/runs", params);
    const body = (await response.json()) as { rows: RunRow[] };
    return { rows: body.rows, total: Number(response.headers.get("X-Total-Count") ?? body.rows.length) };
  },
  /** Buckets may snap their edges to stored chunk boundaries (`snap`, see docs/openapi.yaml): the store
   * then reads no point but at the range's ends, and answers a preview request with them too. */
  buckets: (project: string, runs: string[], paths: string[], range: [number, number] | null, buckets: number, sample = false) =>
    json<Buckets[]>("/v1/series/buckets", [
      ["project", project], ["buckets", buckets], ["sample", sample], ["snap", true],
      ...runs.map((r): [string, string] => ["run", r]),
      ...paths.map((p): [string, string] => ["path", p]),
      ...(range ? ([["start", range[0]], ["stop", range[1]]] as Params) : []),
    ]),
  /** File content as a Blob (previews use blob: URLs: the token never goes into a URL). */
  async file(project: string, run: string, path: string, extra: Params = []): Promise<Blob> {
    const params: Params = [["project", project], ["run", run], ["path", path], ["inline", true], ...extra];
    return (await request("/v1/run/file", params)).blob();
  },
};
