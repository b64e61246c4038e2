/**
 * Board pages are one exported shell (/boards/_/) that the server answers for
 * every /boards/{id}; there is no per-board route payload for client-side
 * navigation, so boards are opened with a full page load.
 */
export function boardPath(id: string, note?: string | null): string {
  const path = `/boards/${encodeURIComponent(id)}/`;
  return note ? `${path}?note=${encodeURIComponent(note)}` : path;
}

/** Opens a board; with `note`, the board pans to that note and selects it (`?note=`). */
export function openBoard(id: string, note?: string | null): void {
  window.location.assign(boardPath(id, note));
}

/** The note a board page was opened on (`?note=ID`), if any. */
export function noteParam(search: string): string | null {
  const id = new URLSearchParams(search).get("note");
  return id ? id : null;
}

/** A full load of any path on this site (after sign-in/out, so the app starts clean). */
export function reloadTo(path: string): void {
  window.location.replace(path);
}

/** Sends the browser to sign in, to come back here after (login checks `next` with safeNext). */
export function goToLogin(): void {
  const here = window.location.pathname + window.location.search;
  window.location.replace(`/login/?next=${encodeURIComponent(here)}`);
}
