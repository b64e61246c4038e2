/** A signed-in session as `GET /api/sessions` lists it (never its secret). */
export type SessionInfo = {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
  user_agent?: string;
  ip?: string;
};

/** The current session first, then the most recently used. */
export function sortSessions(sessions: SessionInfo[]): SessionInfo[] {
  return [...sessions].sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    return b.last_used_at.localeCompare(a.last_used_at) || a.id.localeCompare(b.id);
  });
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\//, "Edge"],
  [/OPR\/|Opera/, "Opera"],
  [/Firefox\//, "Firefox"],
  [/Chrom(e|ium)\//, "Chrome"],
  [/Safari\//, "Safari"],
  [/curl\//i, "curl"],
];

const SYSTEMS: [RegExp, string][] = [
  [/Android/, "Android"],
  [/iPhone|iPad|iOS/, "iOS"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/Windows/, "Windows"],
  [/CrOS/, "ChromeOS"],
  [/Linux/, "Linux"],
];

/** A short name for a sign-in's User-Agent: "Firefox on Linux", or the raw agent if unknown. */
export function describeAgent(ua: string | undefined): string {
  if (!ua) return "Unknown device";
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser || system) return (browser ?? system) as string;
  return ua.length > 60 ? `${ua.slice(0, 57)}…` : ua;
}

export type PasswordErrors = { current?: string; next?: string; confirm?: string };

/** Checks a password change before sending it (the server checks again: 8–256 characters). */
export function checkPasswordChange(current: string, next: string, confirm: string): PasswordErrors {
  const e: PasswordErrors = {};
  if (!current) e.current = "Enter your current password.";
  const n = [...next].length;
  if (n < 8) e.next = "At least 8 characters.";
  else if (n > 256) e.next = "At most 256 characters.";
  else if (next === current) e.next = "Choose a password different from the current one.";
  if (confirm !== next) e.confirm = "The passwords do not match.";
  return e;
}
