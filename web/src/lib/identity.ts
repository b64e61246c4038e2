/**
 * The last signed-in user, kept in localStorage so that the app opens while
 * the server is down (`GET /api/me` cannot answer): the pages use it instead
 * of sending the user to sign in. Cleared on sign-out and whenever the server
 * says the session is gone (401).
 */
import type { User } from "@/realtime/protocol";

const KEY = "corkboard.lastUser";

/** Remembers the signed-in user. */
export function rememberUser(user: User): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ id: user.id, username: user.username }));
  } catch {
    /* storage disabled: offline start is simply not available */
  }
}

/** The last signed-in user, if any. */
export function lastUser(): User | null {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "null") as Partial<User> | null;
    return v && typeof v.id === "string" && typeof v.username === "string" ? (v as User) : null;
  } catch {
    return null;
  }
}

/** Forgets the last user (sign-out, or a session the server no longer knows). */
export function forgetUser(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}

/** True when an API failure means "server unreachable" (not "signed out"). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; status?: number } | null;
  return e?.code === "unavailable" || (typeof e?.status === "number" && e.status >= 502 && e.status <= 504);
}
