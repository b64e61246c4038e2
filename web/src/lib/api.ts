import { RpcError } from "@/realtime/errors";
import type {
  Board,
  BoardEvent,
  Note,
  NoteCreate,
  NoteResult,
  ErrorResponse,
  InviteRole,
  Member,
  NotificationList,
  Role,
  User,
} from "@/realtime/protocol";
import { API_BASE } from "./config";
import type { SessionInfo } from "./sessions";

/** One match of `GET /api/search`: a board by its title (no `note`) or one of its notes. */
export interface SearchResult {
  board: Board;
  note?: { id: string; color: Note["color"] };
  /** One line of the matched text around its first match ("…" where cut). */
  snippet: string;
  /** `[start, end)` of the matched words in `snippet`, in characters (code points). */
  highlights: [number, number][];
}

export interface SearchResults {
  results: SearchResult[];
}

/** A freshly created invite: its token is shown only in this answer. */
export interface NewInvite {
  token: string;
  id: string;
  expires_at: string;
  single_use: boolean;
}

/** An invite as the board's owner lists it (never with its token). */
export interface InviteInfo {
  id: string;
  role: InviteRole;
  username?: string;
  created_by: User;
  created_at: string;
  expires_at: string;
  single_use: boolean;
  uses: number;
}

/** What an invite link offers, shown before joining. */
export interface InvitePreview {
  board: { id: string; title: string; owner: User };
  role: InviteRole;
  expires_at: string;
}

/** An API token as listed (never with its secret). */
export interface TokenInfo {
  id: string;
  name: string;
  created_at: string;
}

/** A freshly created API token: `token` is the secret, shown only in this answer. */
export interface NewToken extends TokenInfo {
  token: string;
}

/** An HTTP error with the server's error body. */
export class ApiError extends RpcError {}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    // A cancelled request is the caller's doing, not an outage: it sees the AbortError itself.
    if (signal?.aborted) throw e;
    throw new ApiError({ code: "unavailable", message: "The server can't be reached. Check your connection." });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = (json as ErrorResponse | undefined)?.error;
    throw new ApiError(
      err ?? { code: res.status >= 500 ? "internal" : "bad_request", message: `HTTP ${res.status}` },
      res.status,
    );
  }
  return json as T;
}

export const api = {
  me: () => request<{ user: User }>("GET", "/api/me"),
  signup: (username: string, password: string) =>
    request<{ user: User }>("POST", "/api/auth/signup", { username, password }),
  login: (username: string, password: string) =>
    request<{ user: User }>("POST", "/api/auth/login", { username, password }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  logoutAll: () => request<void>("POST", "/api/auth/logout-all"),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<void>("POST", "/api/auth/password", {
      current_password: currentPassword,
      new_password: newPassword,
    }),
  sessions: () => request<{ sessions: SessionInfo[] }>("GET", "/api/sessions"),
  revokeSession: (id: string) => request<void>("DELETE", `/api/sessions/${encodeURIComponent(id)}`),
  revokeOtherSessions: () => request<{ revoked: number }>("POST", "/api/sessions/revoke-others"),

  boards: () => request<{ boards: Board[] }>("GET", "/api/boards"),
  /** `op`: the idempotency key; a retry with the same one creates no second board. */
  createBoard: (title: string, op?: string) =>
    request<Board>("POST", "/api/boards", op === undefined ? { title } : { title, op }),
  renameBoard: (id: string, title: string) =>
    request<Board>("PATCH", `/api/boards/${encodeURIComponent(id)}`, { title }),
  deleteBoard: (id: string) => request<void>("DELETE", `/api/boards/${encodeURIComponent(id)}`),
  /** `expiresIn`: seconds (1 to the server's `--invite-max-ttl`); absent, the server's default. */
  invite: (id: string, role: InviteRole, opts: { username?: string; singleUse?: boolean; expiresIn?: number } = {}) =>
    request<NewInvite>("POST", `/api/boards/${encodeURIComponent(id)}/invites`, {
      role,
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.singleUse ? { single_use: true } : {}),
      ...(opts.expiresIn ? { expires_in: opts.expiresIn } : {}),
    }),
  invites: (id: string) =>
    request<{ invites: InviteInfo[] }>("GET", `/api/boards/${encodeURIComponent(id)}/invites`),
  revokeInvite: (id: string, inviteId: string) =>
    request<void>("DELETE", `/api/boards/${encodeURIComponent(id)}/invites/${encodeURIComponent(inviteId)}`),
  previewInvite: (token: string) => request<InvitePreview>("GET", `/api/invites/${encodeURIComponent(token)}`),
  acceptInvite: (token: string) => request<Board>("POST", `/api/invites/${encodeURIComponent(token)}/accept`),
  members: (id: string) => request<{ members: Member[] }>("GET", `/api/boards/${encodeURIComponent(id)}/members`),
  setRole: (id: string, userId: string, role: Role) =>
    request<Member>("PATCH", `/api/boards/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`, { role }),
  /** Removes a member (owner), or leaves the board (one's own id). */
  removeMember: (id: string, userId: string) =>
    request<void>("DELETE", `/api/boards/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`),
  /** Up to 10 people who share a board with the caller, whose username starts with `q` (extension). */
  suggestUsers: (q: string, signal?: AbortSignal) =>
    request<{ users: User[] }>("GET", `/api/users/suggest?q=${encodeURIComponent(q)}`, undefined, signal),

  tokens: () => request<{ tokens: TokenInfo[] }>("GET", "/api/tokens"),
  createToken: (name: string) => request<NewToken>("POST", "/api/tokens", { name }),
  revokeToken: (id: string) => request<void>("DELETE", `/api/tokens/${encodeURIComponent(id)}`),

  /** The board right after event `seq` (`GET /api/boards/{b}/history?seq=S`). */
  history: (id: string, seq: number, signal?: AbortSignal) =>
    request<{ board: Board; notes: Note[]; seq: number }>(
      "GET",
      `/api/boards/${encodeURIComponent(id)}/history?seq=${seq}`,
      undefined,
      signal,
    ),
  /** The board's events after `after`, oldest first, at most `limit` (1–1000), and its current seq. */
  historyEvents: (id: string, after: number, limit: number, signal?: AbortSignal) =>
    request<{ events: BoardEvent[]; seq: number }>(
      "GET",
      `/api/boards/${encodeURIComponent(id)}/history/events?after=${after}&limit=${limit}`,
      undefined,
      signal,
    ),
  /** REST note create (imports; the board page creates through the WebSocket outbox). */
  createNote: (id: string, body: NoteCreate) =>
    request<NoteResult>("POST", `/api/boards/${encodeURIComponent(id)}/notes`, body),

  notifications: (after?: string) =>
    request<NotificationList>("GET", `/api/notifications${after ? `?after=${encodeURIComponent(after)}` : ""}`),
  markRead: (upTo: string) => request<void>("POST", "/api/notifications/read", { up_to: upTo }),
  /** The page of notifications older than `before` (extension: `?before=ID`). */
  notificationsBefore: (before: string) =>
    request<NotificationList>("GET", `/api/notifications?before=${encodeURIComponent(before)}`),
  /** Marks one notification read (extension: `POST /api/notifications/{id}/read`). */
  markOneRead: (id: string) => request<void>("POST", `/api/notifications/${encodeURIComponent(id)}/read`),

  /** Boards and notes matching `q` among the caller's boards (extension: `GET /api/search`). */
  search: (q: string, limit = 20, signal?: AbortSignal) =>
    request<SearchResults>(
      "GET",
      `/api/search?q=${encodeURIComponent(q)}&limit=${limit}`,
      undefined,
      signal,
    ),
};

export const NOTIFICATIONS_STREAM = `${API_BASE}/api/notifications/stream`;

/**
 * A board's thumbnail (SVG, extension). `seq` in the address makes a changed
 * board a new image; the server also revalidates by ETag (304 when unchanged).
 */
export function thumbnailUrl(boardId: string, seq: number): string {
  return `${API_BASE}/api/boards/${encodeURIComponent(boardId)}/thumbnail.svg?v=${seq}`;
}

/** The page that accepts an invite token (a query parameter: ids are unknown at build time). */
export function inviteLink(token: string): string {
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  return `${origin}/invite?token=${encodeURIComponent(token)}`;
}
