/** Where sign-in leads when `next` is missing or not a path on this site. */
export const DEFAULT_NEXT = "/boards/";

/** C0 controls and DEL: URL parsers drop tabs and newlines, so "/\t/evil" would become "//evil". */
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The `?next=` of /login as a path on this site, or {@link DEFAULT_NEXT}.
 * Only a value that starts with a single "/" (not "//" or "/\", which
 * browsers read as another host), has no control characters, and resolves
 * to `origin` is followed; the result is the resolved path, query and hash.
 */
export function safeNext(next: string | null | undefined, origin: string): string {
  if (!next || CONTROL.test(next)) return DEFAULT_NEXT;
  if (next[0] !== "/" || next[1] === "/" || next[1] === "\\") return DEFAULT_NEXT;
  try {
    const base = new URL(origin);
    const url = new URL(next, base);
    if (url.origin !== base.origin) return DEFAULT_NEXT;
    return url.pathname + url.search + url.hash;
  } catch {
    return DEFAULT_NEXT;
  }
}
