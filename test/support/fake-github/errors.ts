/** GitHub-shaped error responses. */
import type { RouteResult } from "./types.js";

export const DOCS = "https://docs.github.com/rest";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }

  toResult(): RouteResult {
    return { status: this.status, body: this.body, headers: this.headers };
  }
}

export function errorBody(status: number, message: string, extra: Record<string, unknown> = {}) {
  return { message, ...extra, documentation_url: DOCS, status: String(status) };
}

export function notFound(message = "Not Found"): HttpError {
  return new HttpError(404, errorBody(404, message));
}

export function unprocessable(message: string): HttpError {
  return new HttpError(422, errorBody(422, message));
}

export function validationFailed(
  resource: string,
  detail: { field?: string; code?: string; message?: string },
) {
  const error = { resource, code: detail.code ?? "custom", ...detail };
  return new HttpError(422, errorBody(422, "Validation Failed", { errors: [error] }));
}

export function conflict(message: string): HttpError {
  return new HttpError(409, errorBody(409, message));
}

export function forbidden(message: string): HttpError {
  return new HttpError(403, errorBody(403, message));
}
