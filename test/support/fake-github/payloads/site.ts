/** URL helpers and the identity of the (single) fake user/repository. */

export interface Site {
  api: string;
  html: string;
  owner: string;
  repo: string;
  login: string;
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

export function simpleUser(s: Site) {
  const u = `${s.api}/users/${s.login}`;
  return {
    login: s.login,
    id: 1,
    node_id: nodeId("User", 1),
    avatar_url: `${s.html}/avatars/${s.login}`,
    gravatar_id: "",
    url: u,
    html_url: `${s.html}/${s.login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: "User",
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
