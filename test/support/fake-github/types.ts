/** Public API types of the fake GitHub server (see index.ts). */

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  token: string;
  defaultBranch?: string;
  /** directory whose files become the initial commit on the default branch */
  seedDir?: string;
  scopes?: string[];
  /**
   * who the token acts as (default: the owner). An app's bot login (`name[bot]`, e.g. github-actions[bot])
   * makes it an installation token: GET /user answers 403, and comments are that bot's.
   */
  actor?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  operationId?: string;
  headers: Record<string, string>;
  /** the URL as sent, e.g. with a GitHub Enterprise Server /api/v3 prefix */
  url: string;
}

export interface Injection {
  method?: string;
  path: RegExp | string;
  /** how many matching requests to fail (default 1) */
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  networkError?: boolean;
}

export interface FakePull {
  number: number;
  state: "open" | "closed";
  head: string;
  base: string;
  title: string;
  body: string;
  labels: string[];
  merged: boolean;
}

export interface FakeDeployment {
  id: number;
  ref: string;
  environment: string;
  statuses: string[];
  payload?: unknown;
  description?: string;
}

export interface FakeGitHub {
  /** e.g. http://127.0.0.1:PORT (use as octokit baseUrl and GITHUB_API_URL) */
  url: string;
  /** path of the bare git repo backing the state */
  bareRepo: string;
  /** every request, in order */
  requests: RecordedRequest[];
  /** every OpenAPI violation seen (tests assert this stays empty) */
  validationErrors: string[];
  /** response-schema mismatches (informational only, never fail a request) */
  responseWarnings: string[];
  inject(i: Injection): void;
  pulls(): FakePull[];
  comments(issueNumber: number): Array<{ id: number; body: string; author: string }>;
  /** a comment written by someone else (any login), as another user or bot of the repository would */
  plantComment(issueNumber: number, body: string, author: string): number;
  deployments(): FakeDeployment[];
  /** merges in git (fast-forward if possible, else a merge commit); returns new base sha */
  mergePull(number: number): Promise<string>;
  /** moves (or creates from the default branch) a branch; null deletes a file; returns the commit sha */
  commitToBranch(branch: string, files: Record<string, string | null>, message: string): Promise<string>;
  close(): Promise<void>;
}

/** A JSON response produced by a route handler. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
