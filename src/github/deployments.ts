/** GitHub deployments: one per cluster a merge changed. */
import type { Session } from "./session.js";

export interface DeploymentRequest {
  ref: string;
  environment: string;
  description: string;
  payload: Record<string, unknown>;
  /** The status recorded right away, and its description. */
  state: "success" | "pending" | "in_progress";
  statusDescription: string;
}

/** Creates the deployment and its first status; returns the deployment's id. */
export async function createDeployment(s: Session, d: DeploymentRequest): Promise<number> {
  const { owner, repo, octokit } = s;
  const { data } = await s.step(`recording the deployment to ${d.environment}`, () =>
    octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: d.ref,
      environment: d.environment,
      auto_merge: false,
      required_contexts: [],
      description: d.description.slice(0, 140),
      payload: d.payload,
    }),
  );
  const id = (data as { id: number }).id;
  await s.step(`marking the deployment to ${d.environment}`, () =>
    octokit.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: id,
      state: d.state,
      description: d.statusDescription.slice(0, 140),
    }),
  );
  return id;
}
