/**
 * A search snippet cut into plain and matched parts, from the server's
 * `highlights` (`[start, end)` in characters, i.e. code points): rendered as
 * text nodes and `<mark>`s, never as HTML. Ranges out of order, overlapping
 * or out of bounds are clamped or skipped.
 */
export interface Part {
  text: string;
  match: boolean;
}

export function highlightParts(snippet: string, highlights: readonly (readonly [number, number])[]): Part[] {
  const chars = Array.from(snippet);
  const parts: Part[] = [];
  let at = 0;
  const ranges = [...highlights].filter((r) => Array.isArray(r) && r.length === 2).sort((a, b) => a[0] - b[0]);
  for (const [rawStart, rawEnd] of ranges) {
    const start = Math.max(at, Math.min(chars.length, Math.floor(rawStart)));
    const end = Math.max(start, Math.min(chars.length, Math.floor(rawEnd)));
    if (end <= start) continue;
    if (start > at) parts.push({ text: chars.slice(at, start).join(""), match: false });
    parts.push({ text: chars.slice(start, end).join(""), match: true });
    at = end;
  }
  if (at < chars.length) parts.push({ text: chars.slice(at).join(""), match: false });
  return parts;
}
