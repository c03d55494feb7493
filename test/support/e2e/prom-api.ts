/** Small client for a Prometheus server's HTTP API and /metrics, for the e2e assertions. */

export type Labels = Record<string, string>;
export interface VectorSample {
  metric: Labels;
  value: [number, string];
}
export interface MatrixSeries {
  metric: Labels;
  values: [number, string][];
}

interface ApiAnswer<T> {
  status: "success" | "error";
  data: T;
  error?: string;
  errorType?: string;
}

export class PromApi {
  /** `headers` go on every request (e.g. a store's tenant header). */
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  private async get<T>(path: string, params: Record<string, string | string[]>): Promise<T> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
      for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    // POST form: long queries and many match[] fit, as with GET.
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      body,
      headers: this.headers,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: ApiAnswer<T>;
    try {
      parsed = JSON.parse(text) as ApiAnswer<T>;
    } catch {
      throw new Error(`${this.baseUrl}${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
    }
    if (parsed.status !== "success")
      throw new Error(
        `${this.baseUrl}${path} ${JSON.stringify(params)}: ${parsed.errorType}: ${parsed.error}`,
      );
    return parsed.data;
  }

  async query(q: string, time?: number): Promise<VectorSample[]> {
    const d = await this.get<{ resultType: string; result: VectorSample[] }>("/api/v1/query", {
      query: q,
      ...(time !== undefined ? { time: time.toFixed(3) } : {}),
    });
    if (d.resultType !== "vector") throw new Error(`query ${q}: expected a vector, got ${d.resultType}`);
    return d.result;
  }

  /** Instant query of a range selector: raw samples. */
  async queryMatrix(q: string, time?: number): Promise<MatrixSeries[]> {
    const d = await this.get<{ resultType: string; result: MatrixSeries[] }>("/api/v1/query", {
      query: q,
      ...(time !== undefined ? { time: time.toFixed(3) } : {}),
    });
    if (d.resultType !== "matrix") throw new Error(`query ${q}: expected a matrix, got ${d.resultType}`);
    return d.result;
  }

  async queryRange(q: string, start: number, end: number, stepSeconds: number): Promise<MatrixSeries[]> {
    const d = await this.get<{ resultType: string; result: MatrixSeries[] }>("/api/v1/query_range", {
      query: q,
      start: start.toFixed(3),
      end: end.toFixed(3),
      step: String(stepSeconds),
    });
    return d.result;
  }

  async series(match: string[], start?: number, end?: number): Promise<Labels[]> {
    return await this.get<Labels[]>("/api/v1/series", {
      "match[]": match,
      ...(start !== undefined ? { start: start.toFixed(3) } : {}),
      ...(end !== undefined ? { end: end.toFixed(3) } : {}),
    });
  }
}

export interface MetricSample {
  name: string;
  labels: Labels;
  value: number;
}

/** Parses the Prometheus text format (enough of it for Prometheus's own /metrics). */
export function parseMetricsText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    const body = m[3] ?? "";
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let lm: RegExpExecArray | null;
    while ((lm = re.exec(body)))
      labels[lm[1] as string] = (lm[2] as string).replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    const v = m[4] as string;
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v);
    out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

export async function fetchMetrics(baseUrl: string): Promise<MetricSample[]> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${baseUrl}/metrics: HTTP ${res.status}`);
  return parseMetricsText(await res.text());
}

/** Sum of all samples of `name` whose labels include `where`; undefined when none exist. */
export function sumMetric(samples: MetricSample[], name: string, where: Labels = {}): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : undefined;
}
