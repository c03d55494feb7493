/** URL helpers and the identity of the (single) fake user/repository. */

export interface Site {
  api: string;
  html: string;
  owner: string;
  repo: string;
  login: string;
  /** who the token acts as: `login`, or an app's bot (`name[bot]`), which cannot call GET /user */
  actor: string;
  defaultBranch: string;
  createdAt: string;
}

export function repoApi(s: Site, suffix = ""): string {
  return `${s.api}/repos/${s.owner}/${s.repo}${suffix}`;
}

export function repoHtml(s: Site, suffix = ""): string {
  return `${s.html}/${s.owner}/${s.repo}${suffix}`;
}

export function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`${kind}:${id}`).toString("base64").replace(/=+$/, "");
}

/** The site's one user, or another account (a comment's author) by login. */
export function simpleUser(s: Site, login = s.login) {
  const u = `${s.api}/users/${encodeURIComponent(login)}`;
  const bot = login.endsWith("[bot]");
  const id =
    login === s.login ? 1 : 100 + [...login].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_000, 0);
  return {
    login,
    id,
    node_id: nodeId(bot ? "Bot" : "User", id),
    avatar_url: `${s.html}/avatars/${encodeURIComponent(login)}`,
    gravatar_id: "",
    url: u,
    html_url: `${s.html}/${login.replace(/\[bot\]$/, "")}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: bot ? "Bot" : "User",
    site_admin: false,
    user_view_type: "public",
  };
}

export function authenticatedUser(s: Site) {
  return {
    ...simpleUser(s),
    name: s.login,
    company: null,
    blog: "",
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 1,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: s.createdAt,
    updated_at: s.createdAt,
  };
}
