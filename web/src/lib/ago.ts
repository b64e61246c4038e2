/**
 * A past moment in words, for the note's byline ("just now", "3 min ago",
 * "2 hours ago", "yesterday", "4 days ago", then the date).
 */
export function ago(iso: string, now: number = Date.now()): string {
  const t = new Date(iso).getTime();
  if (!Number.isFinite(t)) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return "just now";
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 24) return `${h} hour${h === 1 ? "" : "s"} ago`;
  const d = Math.round(h / 24);
  if (d === 1) return "yesterday";
  if (d < 7) return `${d} days ago`;
  return `on ${new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" })}`;
}

/**
 * "Created by ann · edited by bob, 3 min ago": who made the note, and who
 * changed it last when this client has seen that change (else only when).
 */
export function byline(author: string, lastEditor: string | null, updatedAt: string, now: number = Date.now()): string {
  const when = ago(updatedAt, now);
  const edited = lastEditor ? `edited by ${lastEditor}, ${when}` : `edited ${when}`;
  return `Created by ${author} · ${edited}`;
}
