import { describe, expect, it } from "vitest";
import { checkPasswordChange, describeAgent, sortSessions, type SessionInfo } from "../sessions";

const s = (id: string, last: string, current = false): SessionInfo => ({
  id,
  created_at: "2026-11-01T00:00:00.000Z",
  last_used_at: last,
  expires_at: "2026-12-01T00:00:00.000Z",
  current,
});

describe("sortSessions", () => {
  it("puts the current session first, then the most recently used", () => {
    const sorted = sortSessions([
      s("a", "2026-11-02T00:00:00.000Z"),
      s("b", "2026-11-03T00:00:00.000Z"),
      s("c", "2026-11-01T00:00:00.000Z", true),
    ]);
    expect(sorted.map((x) => x.id)).toEqual(["c", "b", "a"]);
  });
});

describe("describeAgent", () => {
  it("names common browsers and systems", () => {
    expect(
      describeAgent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    ).toBe("Firefox on Linux");
    expect(
      describeAgent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
      ),
    ).toBe("Safari on macOS");
    expect(
      describeAgent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
      ),
    ).toBe("Edge on Windows");
  });

  it("falls back to the agent, shortened, or to a placeholder", () => {
    expect(describeAgent(undefined)).toBe("Unknown device");
    expect(describeAgent("my-script/1.0")).toBe("my-script/1.0");
    expect(describeAgent("x".repeat(100))).toHaveLength(58);
  });
});

describe("checkPasswordChange", () => {
  it("accepts a valid change", () => {
    expect(checkPasswordChange("old-password", "new-password", "new-password")).toEqual({});
  });

  it("reports each problem on its field", () => {
    expect(checkPasswordChange("", "short", "shorter")).toEqual({
      current: "Enter your current password.",
      next: "At least 8 characters.",
      confirm: "The passwords do not match.",
    });
    expect(checkPasswordChange("same-password", "same-password", "same-password").next).toMatch(/different/);
    expect(checkPasswordChange("a", "x".repeat(257), "x".repeat(257)).next).toMatch(/256/);
  });
});
