import { parse, parseAllDocuments } from "yaml";

/** Package values with the embedded prometheus_yml parsed too, for semantic comparison. */
export function parseValues(text: string): Record<string, unknown> {
  const values = parse(text) as { prometheus: { config: { prometheus_yml: unknown } } };
  values.prometheus.config.prometheus_yml = parse(values.prometheus.config.prometheus_yml as string);
  return values;
}

export function parseDocs(text: string): Array<Record<string, unknown>> {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
}

export type PromConfig = {
  global: Record<string, unknown>;
  scrape_configs: Array<{
    job_name: string;
    relabel_configs?: Array<Record<string, unknown>>;
    static_configs?: Array<{ labels?: Record<string, string> }>;
  }>;
  remote_write?: Array<{ url?: string; headers?: Record<string, string>; [k: string]: unknown }>;
  [k: string]: unknown;
};

export function promConfigOf(valuesText: string): PromConfig {
  return (parseValues(valuesText) as { prometheus: { config: { prometheus_yml: PromConfig } } }).prometheus
    .config.prometheus_yml;
}
