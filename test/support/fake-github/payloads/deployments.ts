/** Deployment and deployment-status payloads. */
import type { DeploymentRecord, DeploymentStatusRecord } from "../state.js";
import { nodeId, repoApi, simpleUser, type Site } from "./site.js";

export function deployment(s: Site, d: DeploymentRecord) {
  const updated = d.statuses.at(-1)?.createdAt ?? d.createdAt;
  return {
    url: repoApi(s, `/deployments/${d.id}`),
    id: d.id,
    node_id: nodeId("Deployment", d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: simpleUser(s),
    created_at: d.createdAt,
    updated_at: updated,
    statuses_url: repoApi(s, `/deployments/${d.id}/statuses`),
    repository_url: repoApi(s),
    transient_environment: d.transient,
    production_environment: d.production,
    performed_via_github_app: null,
  };
}

export function deploymentStatus(s: Site, d: DeploymentRecord, st: DeploymentStatusRecord) {
  return {
    url: repoApi(s, `/deployments/${d.id}/statuses/${st.id}`),
    id: st.id,
    node_id: nodeId("DeploymentStatus", st.id),
    state: st.state,
    creator: simpleUser(s),
    description: st.description,
    environment: st.environment,
    target_url: st.targetUrl,
    created_at: st.createdAt,
    updated_at: st.createdAt,
    deployment_url: repoApi(s, `/deployments/${d.id}`),
    repository_url: repoApi(s),
    environment_url: st.environmentUrl,
    log_url: st.logUrl,
    performed_via_github_app: null,
  };
}
