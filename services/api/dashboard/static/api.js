// The gateway's JSON API, called with the token the person gave (if any).
//
// Successful answers are {"success": true, "data": …}; errors are
// application/problem+json ({type, title, status, detail, field, errors}).

const TOKEN_KEY = "kbm.apiToken";

/** An error answer of the API, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  /** One line for people: "Title: detail". */
  get summary() {
    const { title, detail } = this.problem;
    if (title && detail) return `${title}: ${detail}`;
    return title || detail || `HTTP ${this.status}`;
  }
}

/** Return the saved token, from this tab or this device, or "". */
export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || "";
}

/** Save the token for this tab, or on this device when `remember` is set. */
export function saveToken(token, remember) {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
}

/** Forget the token everywhere it may be kept. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      // fall through: an unreadable body still has a status
    }
  }
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status };
}

/** Call the API; return the answer's `data`, or throw an ApiError. */
export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = savedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (ex) {
    throw new ApiError(0, {
      title: "The gateway cannot be reached",
      detail: `${ex.message || ex}; retrying`,
    });
  }
  if (!response.ok) {
    const problem = await problemOf(response);
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) problem.retryAfter = Number(retryAfter);
    throw new ApiError(response.status, problem);
  }
  const answer = await response.json();
  return answer.data;
}

export const api = {
  tasks: (status) =>
    call("GET", `/api/tasks/history?limit=20${status ? `&status=${encodeURIComponent(status)}` : ""}`),
  task: (id) => call("GET", `/api/tasks/history/${id}`),
  items: (id) => call("GET", `/api/tasks/history/${id}/items?limit=1000`),
  submit: (urls, stages) => call("POST", "/api/pipeline", { urls, stages }),
  retry: (id) => call("POST", `/api/tasks/history/${id}/retry`),
  cancel: (id) => call("POST", `/api/tasks/history/${id}/cancel`),
  queues: () => call("GET", "/api/monitoring/queues"),
  workers: () => call("GET", "/api/monitoring/workers"),
  deadLetters: () => call("GET", "/api/monitoring/dead-letters?limit=20"),
  /** One page of links; `filters` holds q, tag, category, status, limit, offset. */
  links: (filters) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== "" && value != null));
    return call("GET", `/api/links?${query}`);
  },
  feeds: () => call("GET", "/api/feeds?limit=200"),
  setFeedPaused: (id, paused) => call("PATCH", `/api/feeds/${id}`, { paused }),
};
