// The console's only way to the API: this origin, the signed-in credential in Authorization.
// The credential lives in sessionStorage (this tab only, gone when it closes) and in no URL,
// log or DOM attribute; every call carries it, so the API's scopes decide what a click may do.

const KEY = "streamauth.console.credential";
// The API's root: the page is <root>/console (a stage's path on execute-api, / locally).
export const ROOT = new URL(".", window.location.href.replace(/\/console\/?(?:[?#].*)?$/, "/console"));

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

export function credential() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// `Token <40-hex key>` for a service-account key, `Bearer <jwt>` otherwise (a pasted
// "Bearer ..." or "Token ..." header value is taken as it is).
export function authorization(value) {
  const text = value.trim();
  if (/^(bearer|token)\s+/i.test(text)) return text;
  return /^[0-9a-f]{40}$/i.test(text) ? `Token ${text}` : `Bearer ${text}`;
}

// What a person should do next, by the API's status; the API's own message comes first.
export function advice(error) {
  if (!(error instanceof ApiError)) return String(error.message || error);
  const said = error.message ? `${error.message}. ` : "";
  switch (error.status) {
    case 0:
      return `Could not reach the API (${error.message}). Check that it runs (make run) and try again.`;
    case 400:
      return `${said}Correct ${error.field ? `the field "${error.field}"` : "the input"} and try again.`;
    case 401:
      return `${said}Sign out and sign in again with a valid operator JWT (make -s admin-token) or service-account key.`;
    case 403:
      return `${said}Sign in with a credential that has it (an operator JWT has every scope).`;
    case 404:
      return `${said}Check the stream, subscriber or id and try again.`;
    case 429:
      return `${said}Too many requests: wait a few seconds and try again.`;
    case 503:
      return `${said}The API's store is unavailable: try again in a moment.`;
    default:
      return `${said}The API answered ${error.status}; try again, and look at the API's log if it persists.`;
  }
}

// One call: resolves to the parsed JSON body (null for an empty one), rejects with ApiError.
// `auth: false` sends no credential (the public JWKS).
export async function call(method, path, { query, body, auth = true } = {}) {
  const url = new URL(path.replace(/^\//, ""), ROOT);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  const headers = { Accept: "application/json" };
  if (auth) {
    const held = credential();
    if (!held) throw new ApiError(401, "not signed in");
    headers.Authorization = authorization(held);
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let reply;
  try {
    reply = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    throw new ApiError(0, error.message);
  }
  const text = await reply.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text.slice(0, 200) };
  }
  if (!reply.ok) {
    throw new ApiError(reply.status, (data && data.message) || reply.statusText, data && data.field);
  }
  if (data && data.success === false && typeof data.errorId === "number" && data.errorId >= 400) {
    throw new ApiError(data.errorId, data.message, data.field);
  }
  return data;
}

// A stream's path segment, encoded.
export function stream(id) {
  return `v2/broadcasts/${encodeURIComponent(id)}`;
}
