// Calls to the gateway's REST API. Adds the in-memory bearer token, turns error bodies into
// ApiError (with the server's message), and refreshes the access token once on a 401 using the
// HttpOnly refresh cookie.
import { useSession } from "../store/session";
import type { Session } from "./types";

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; request_id?: string };
  detail?: unknown;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = null;
  }
  // FastAPI's own validation errors carry a list of {loc, msg} in `detail`.
  const detail =
    typeof body?.detail === "string"
      ? body.detail
      : Array.isArray(body?.detail)
        ? (body.detail as { loc?: unknown[]; msg?: string }[])
            .map((d) => [d.loc?.slice(1).join("."), d.msg].filter(Boolean).join(": "))
            .join("; ")
        : undefined;
  const message =
    body?.error?.message ?? detail ?? `${response.status} ${response.statusText || "request failed"}`;
  return new ApiError(
    response.status,
    body?.error?.code ?? String(response.status),
    message,
    body?.error?.request_id ?? response.headers.get("X-Request-ID") ?? undefined,
  );
}

let refreshing: Promise<Session | null> | null = null;

/** Get a new access token from the refresh cookie; null when there is no valid session. */
export function refreshSession(): Promise<Session | null> {
  refreshing ??= (async () => {
    try {
      const response = await fetch(`${API_BASE}/auth/refresh`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      if (!response.ok) {
        useSession.getState().signOut();
        return null;
      }
      const session = (await response.json()) as Session;
      useSession.getState().signIn(session);
      return session;
    } catch {
      useSession.getState().signOut();
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Refresh this long before expiry, so a token sent now is still valid when the server reads it. */
const EXPIRY_MARGIN_MS = 30_000;

/** An access token valid for a while yet (refreshed from the cookie when close to expiry), for
 * the WebSocket and SSE streams that cannot retry on a 401 themselves. */
export async function freshToken(): Promise<string | null> {
  const { accessToken, expiresAt } = useSession.getState();
  if (accessToken && (expiresAt === null || expiresAt - Date.now() > EXPIRY_MARGIN_MS)) return accessToken;
  const session = await refreshSession();
  return session?.access_token ?? null;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
  /** Skip the bearer token and the refresh-on-401 (sign-in forms). */
  anonymous?: boolean;
}

function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (token && !options.anonymous) headers.Authorization = `Bearer ${token}`;
  return fetch(`${API_BASE}${withQuery(path, options.query)}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
    signal: options.signal,
  });
}

/** One JSON call to the API; throws ApiError with the server's message on a non-2xx answer. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let response = await send(path, options, useSession.getState().accessToken);
  if (response.status === 401 && !options.anonymous) {
    const session = await refreshSession();
    if (session) response = await send(path, options, session.access_token);
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Message to show a person for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
