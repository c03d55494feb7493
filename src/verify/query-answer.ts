/**
 * Reading a Prometheus instant-query answer (`/api/v1/query`): HTTP and API errors classified into
 * VerifyErrors that name the URL and never a credential, and the vector folded into the newest sample
 * time per cluster.
 */
import { VerifyError } from "./errors.js";
import { scrub, type HttpAnswer } from "./http.js";

/** What the message needs: the URL as shown, and the credentials to keep out of echoed text. */
export interface AnswerContext {
  where: string;
  secrets: readonly string[];
}

interface ApiBody {
  status?: unknown;
  error?: unknown;
  errorType?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

/** The newest sample time per `cluster` label value in a successful answer; a VerifyError otherwise. */
export function newestPerCluster(answer: HttpAnswer, ctx: AnswerContext): Map<string, number> {
  const body = parseBody(answer.body);
  if (answer.status < 200 || answer.status > 299) throw httpFailure(answer, body.value, ctx);
  const fail = (what: string) => new VerifyError(`the aggregator at ${ctx.where} ${what}`, answer.status);
  if (!body.value)
    throw fail(
      `answered HTTP ${answer.status} with a malformed answer (not JSON: ${body.error ?? "not an object"}): ${snippet(answer.body, ctx.secrets)}`,
    );
  if (body.value.status !== "success")
    throw fail(
      `answered status=${JSON.stringify(body.value.status)}${typeof body.value.error === "string" ? ": " + scrub(body.value.error, ctx.secrets) : ""}`,
    );
  const data = body.value.data;
  if (!data || data.resultType !== "vector" || !Array.isArray(data.result))
    throw fail(
      `returned a malformed answer: expected data.resultType "vector" with a result list, got ${snippet(JSON.stringify(data ?? null), ctx.secrets)}`,
    );
  return foldNewest(data.result as unknown[], fail, ctx);
}

function parseBody(text: string): { value?: ApiBody; error?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" ? { value: parsed as ApiBody } : {};
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** A non-2xx answer: the API's own error when it sent one, with a hint for the usual causes. */
function httpFailure(answer: HttpAnswer, body: ApiBody | undefined, ctx: AnswerContext): VerifyError {
  const detail =
    body && typeof body.error === "string"
      ? `${typeof body.errorType === "string" ? body.errorType + ": " : ""}${scrub(body.error, ctx.secrets)}`
      : snippet(answer.body, ctx.secrets);
  const hint =
    answer.status === 401 || answer.status === 403
      ? " (check the aggregator credentials)"
      : answer.status === 404
        ? " (is this a Prometheus URL, and does it need a path prefix?)"
        : "";
  const status = `HTTP ${answer.status}${answer.statusText ? " " + answer.statusText : ""}`;
  return new VerifyError(
    `the aggregator at ${ctx.where} answered ${status}${hint}: ${detail}`,
    answer.status,
  );
}

function foldNewest(
  result: unknown[],
  fail: (what: string) => VerifyError,
  ctx: AnswerContext,
): Map<string, number> {
  const newest = new Map<string, number>();
  for (const item of result) {
    const { cluster, ts } = sampleOf(item, fail, ctx);
    const prev = newest.get(cluster);
    if (prev === undefined || ts > prev) newest.set(cluster, ts);
  }
  return newest;
}

function sampleOf(
  item: unknown,
  fail: (what: string) => VerifyError,
  ctx: AnswerContext,
): { cluster: string; ts: number } {
  const el = item as { metric?: Record<string, unknown>; value?: unknown } | null;
  const cluster = el?.metric?.cluster;
  const value = el?.value;
  if (typeof cluster !== "string" || !Array.isArray(value) || value.length !== 2)
    throw fail(`returned a malformed sample: ${snippet(JSON.stringify(item), ctx.secrets)}`);
  const ts = Number(value[1]);
  if (!Number.isFinite(ts))
    throw fail(`returned a non-numeric timestamp for cluster ${cluster}: ${JSON.stringify(value[1])}`);
  return { cluster, ts };
}

/** A short one-line excerpt of text a server sent, credentials scrubbed. */
function snippet(body: string, secrets: readonly string[]): string {
  const oneLine = scrub(body, secrets).replace(/\s+/g, " ").trim();
  if (!oneLine) return "(empty body)";
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
