/**
 * @mention autocomplete as plain functions: the `@query` being typed at the
 * caret, and the members that match it. The server finds mentions the same
 * way (`core/notification.rs`): `@` not after a letter, digit or `_`, then
 * ASCII letters, digits, `_`, `.` or `-`.
 */

/** The `@…` the caret is in: where the `@` is and what follows it up to the caret. */
export interface MentionQuery {
  /** Index of the `@`. */
  start: number;
  /** Text between the `@` and the caret (may be empty). */
  query: string;
}

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** The mention being typed when the caret is at `caret` in `text` (no selection), else null. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  let i = caret;
  while (i > 0 && caret - i <= 32 && NAME_CHAR.test(text[i - 1])) i--;
  if (i === 0 || text[i - 1] !== "@") return null;
  const at = i - 1;
  if (at > 0 && WORD_CHAR.test(text[at - 1])) return null; // an e-mail address, not a mention
  return { start: at, query: text.slice(i, caret) };
}

/**
 * Members whose username matches `query` (case-insensitive): those starting
 * with it first, then those containing it; this user left out; at most `limit`.
 */
export function matchMembers<T extends { username: string }>(members: readonly T[], query: string, me: string | undefined, limit = 8): T[] {
  const q = query.toLowerCase();
  const starts: T[] = [];
  const contains: T[] = [];
  for (const m of members) {
    if (m.username === me) continue;
    const u = m.username.toLowerCase();
    if (u.startsWith(q)) starts.push(m);
    else if (q && u.includes(q)) contains.push(m);
  }
  const byName = (a: T, b: T) => a.username.localeCompare(b.username);
  return [...starts.sort(byName), ...contains.sort(byName)].slice(0, limit);
}

/** `text` with the mention at `m` (up to `caret`) replaced by `@username `, and where the caret goes. */
export function insertMention(text: string, m: MentionQuery, caret: number, username: string): { text: string; caret: number } {
  const after = text.slice(caret);
  const insert = `@${username}${after.startsWith(" ") ? "" : " "}`;
  const next = text.slice(0, m.start) + insert + after;
  return { text: next, caret: m.start + insert.length + (after.startsWith(" ") ? 1 : 0) };
}
