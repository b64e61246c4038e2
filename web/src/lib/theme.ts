/**
 * Light, dark or the system's choice, per user on this browser
 * (`localStorage["corkboard.theme.<user id>"]`; `corkboard.theme` holds the
 * latest choice for the signed-out pages). The `dark` class on `<html>`
 * turns Tailwind's `dark:` variant on (globals.css); `THEME_SCRIPT` applies
 * it in `<head>` before the first paint, so a dark page never flashes white.
 */
export type ThemeChoice = "system" | "light" | "dark";

export const THEME_KEY = "corkboard.theme";
const USER_KEY = "corkboard.lastUser";

/**
 * Runs inline in `<head>` before anything paints (the server's CSP allows it by
 * its hash, computed from the page). Keep it in sync with `storedTheme` and
 * `applyTheme` below; the tests run this very string.
 */
export const THEME_SCRIPT = `(function(){try{var s=localStorage,t=null,u=JSON.parse(s.getItem("${USER_KEY}")||"null");if(u&&u.id)t=s.getItem("${THEME_KEY}."+u.id);if(!t)t=s.getItem("${THEME_KEY}");var d=t==="dark"||(t!=="light"&&matchMedia("(prefers-color-scheme: dark)").matches),e=document.documentElement;e.classList.toggle("dark",d);e.style.colorScheme=d?"dark":"light"}catch(x){}})()`;

function userId(storage: Storage): string | null {
  try {
    const u = JSON.parse(storage.getItem(USER_KEY) ?? "null") as { id?: unknown } | null;
    return u && typeof u.id === "string" ? u.id : null;
  } catch {
    return null;
  }
}

/** The choice stored for the last signed-in user (else the browser's latest), "system" when none. */
export function storedTheme(storage: Storage | undefined = globalThis.localStorage): ThemeChoice {
  try {
    if (!storage) return "system";
    const id = userId(storage);
    const t = (id && storage.getItem(`${THEME_KEY}.${id}`)) || storage.getItem(THEME_KEY);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    return "system";
  }
}

/** Whether `choice` means dark now (system: the OS setting). */
export function isDark(choice: ThemeChoice, systemDark: boolean): boolean {
  return choice === "dark" || (choice === "system" && systemDark);
}

const systemDark = () => globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;

/** Puts the page in light or dark mode for `choice`. */
export function applyTheme(choice: ThemeChoice, doc: Document = document): void {
  const dark = isDark(choice, systemDark());
  doc.documentElement.classList.toggle("dark", dark);
  doc.documentElement.style.colorScheme = dark ? "dark" : "light";
}

/** Keeps `choice` for this user (and as the browser's latest) and applies it. */
export function setTheme(choice: ThemeChoice, storage: Storage | undefined = globalThis.localStorage): void {
  try {
    if (storage) {
      const id = userId(storage);
      if (id) storage.setItem(`${THEME_KEY}.${id}`, choice);
      storage.setItem(THEME_KEY, choice);
    }
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  applyTheme(choice);
}

/** Follows the OS setting while the choice is "system"; returns the unsubscribe. */
export function watchSystemTheme(): () => void {
  const mq = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
  if (!mq) return () => undefined;
  const on = () => {
    if (storedTheme() === "system") applyTheme("system");
  };
  mq.addEventListener("change", on);
  return () => mq.removeEventListener("change", on);
}
