/** Page-number pagination with a GitHub style Link header. */
import type { RouteResult } from "../types.js";

function pageUrl(url: string, query: Record<string, string>, page: number): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries({ ...query, page: String(page) })) u.searchParams.set(k, v);
  return u.toString();
}

export function paginate(items: unknown[], query: Record<string, string>, url: string): RouteResult {
  const perPage = Math.min(Math.max(Number(query.per_page ?? 30) || 30, 1), 100);
  const page = Math.max(Number(query.page ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const rels: string[] = [];
  if (page < last)
    rels.push(`<${pageUrl(url, query, page + 1)}>; rel="next"`, `<${pageUrl(url, query, last)}>; rel="last"`);
  if (page > 1)
    rels.push(`<${pageUrl(url, query, page - 1)}>; rel="prev"`, `<${pageUrl(url, query, 1)}>; rel="first"`);
  const body = items.slice((page - 1) * perPage, page * perPage);
  return { status: 200, body, headers: rels.length ? { link: rels.join(", ") } : {} };
}
