/** In-memory (non-git) state: pull requests, labels, comments, deployments. */

export interface PullRecord {
  number: number;
  id: number;
  state: "open" | "closed";
  title: string;
  body: string;
  head: string;
  base: string;
  headSha: string;
  draft: boolean;
  maintainerCanModify: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  labels: string[];
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  /** login of the comment's author; the authenticated user when unset */
  author?: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentStatusRecord {
  id: number;
  state: string;
  description: string;
  environment: string;
  environmentUrl: string;
  logUrl: string;
  targetUrl: string;
  createdAt: string;
}

export interface DeploymentRecord {
  id: number;
  ref: string;
  sha: string;
  task: string;
  environment: string;
  description: string | null;
  payload: unknown;
  transient: boolean;
  production: boolean;
  createdAt: string;
  statuses: DeploymentStatusRecord[];
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class FakeState {
  readonly pulls: PullRecord[] = [];
  readonly comments: CommentRecord[] = [];
  readonly deployments: DeploymentRecord[] = [];
  readonly labels = new Map<string, LabelRecord>();
  private ids = 1000;
  private issueNumbers = 0;

  nextId(): number {
    return ++this.ids;
  }

  nextIssueNumber(): number {
    return ++this.issueNumbers;
  }

  pull(number: number): PullRecord | undefined {
    return this.pulls.find((p) => p.number === number);
  }

  label(name: string): LabelRecord {
    const key = name.toLowerCase();
    let label = this.labels.get(key);
    if (!label) {
      label = { id: this.nextId(), name, color: "ededed", description: null };
      this.labels.set(key, label);
    }
    return label;
  }

  deployment(id: number): DeploymentRecord | undefined {
    return this.deployments.find((d) => d.id === id);
  }
}
