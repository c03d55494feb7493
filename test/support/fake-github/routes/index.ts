/** operationId -> handler table. */
import type { Handler } from "../context.js";
import { archiveRoutes } from "./archive.js";
import { deploymentRoutes } from "./deployments.js";
import { issueRoutes } from "./issues.js";
import { objectRoutes } from "./objects.js";
import { pullRoutes } from "./pulls.js";
import { refRoutes } from "./refs.js";
import { repoRoutes } from "./repo.js";

export const handlers: Record<string, Handler> = {
  ...repoRoutes,
  ...archiveRoutes,
  ...refRoutes,
  ...objectRoutes,
  ...pullRoutes,
  ...issueRoutes,
  ...deploymentRoutes,
};
