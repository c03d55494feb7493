/** Who promfleet is on GitHub: the author its sticky comments carry. */
import { ExitCode, PromfleetError } from "../util/errors.js";
import { statusOf, type Session } from "./session.js";

/** The login GitHub Actions' own token comments as. */
export const ACTIONS_BOT = "github-actions[bot]";

/**
 * The authenticated user's login (`GET /user`). Installation tokens (GitHub Actions' GITHUB_TOKEN, a
 * GitHub App's token) cannot call it (403): then PROMFLEET_GITHUB_LOGIN names the app's bot
 * (`<app-slug>[bot]`), and inside GitHub Actions it is github-actions[bot].
 */
export async function authenticatedLogin(s: Session, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.PROMFLEET_GITHUB_LOGIN) return env.PROMFLEET_GITHUB_LOGIN;
  const user = await s.step("asking GitHub who the token belongs to", async () => {
    try {
      return (await s.octokit.rest.users.getAuthenticated()).data.login;
    } catch (e) {
      if (statusOf(e) === 403) return undefined;
      throw e;
    }
  });
  if (user) return user;
  if (env.GITHUB_ACTIONS === "true") return ACTIONS_BOT;
  throw new PromfleetError(
    "GitHub: the token is an app installation token, which cannot tell who it is (GET /user answers 403); " +
      "set PROMFLEET_GITHUB_LOGIN to the app's bot login, e.g. my-app[bot]",
    ExitCode.badInput,
  );
}
