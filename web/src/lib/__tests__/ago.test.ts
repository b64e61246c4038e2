import { describe, expect, it } from "vitest";
import { ago, byline } from "../ago";

const now = Date.parse("2026-12-01T12:00:00Z");
const before = (s: number) => new Date(now - s * 1000).toISOString();

describe("ago", () => {
  it("says how long ago in words", () => {
    expect(ago(before(10), now)).toBe("just now");
    expect(ago(before(180), now)).toBe("3 min ago");
    expect(ago(before(3600), now)).toBe("1 hour ago");
    expect(ago(before(5 * 3600), now)).toBe("5 hours ago");
    expect(ago(before(30 * 3600), now)).toBe("yesterday");
    expect(ago(before(4 * 86400), now)).toBe("4 days ago");
    expect(ago(before(40 * 86400), now)).toMatch(/^on /);
    expect(ago("nonsense", now)).toBe("");
    // a clock a little ahead of ours is not "in the future"
    expect(ago(before(-5), now)).toBe("just now");
  });

  it("names the last editor when known", () => {
    expect(byline("ann", "bob", before(180), now)).toBe("Created by ann · edited by bob, 3 min ago");
    expect(byline("ann", null, before(180), now)).toBe("Created by ann · edited 3 min ago");
  });
});
