/**
 * Credentials in URLs (https://user:token@host, as GOPROXY and aggregator URLs may carry them): the one
 * place that takes them out, either to show the URL or to send them as a header instead.
 */

/** Basic-auth credentials taken from a URL's user-info part, percent-decoded. */
export interface UrlCredentials {
  username: string;
  password: string;
}

/**
 * The URL as it may appear in messages: user-info replaced by `***`; with `dropQuery`, no query string or
 * fragment either. Text that does not parse as a URL is still stripped of anything before an `@`.
 */
export function redactUrl(url: URL | string, o: { dropQuery?: boolean } = {}): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return String(url).replace(/\/\/[^@/]*@/, "//***@");
  }
  if (u.username || u.password) {
    u.username = "***";
    u.password = "";
  }
  if (o.dropQuery) {
    u.search = "";
    u.hash = "";
  }
  return u.toString();
}

/** A copy of the URL without user-info, and the credentials it carried (undefined when none). */
export function splitCredentials(url: URL): { url: URL; credentials?: UrlCredentials } {
  if (!url.username && !url.password) return { url: new URL(url) };
  const plain = new URL(url);
  plain.username = "";
  plain.password = "";
  const credentials = {
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  return { url: plain, credentials };
}

/** The value of an `Authorization: Basic` header. */
export function basicAuthorization(c: UrlCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
