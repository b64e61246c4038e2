import { describe, expect, it } from "vitest";
import { expiresIn } from "../SharePanel";

describe("expiresIn", () => {
  const now = Date.parse("2026-11-23T12:00:00.000Z");
  it("words the time left on an invite link", () => {
    expect(expiresIn("2026-11-23T12:00:20.000Z", now)).toBe("in 1 min");
    expect(expiresIn("2026-11-23T12:45:00.000Z", now)).toBe("in 45 min");
    expect(expiresIn("2026-11-23T13:00:00.000Z", now)).toBe("in 1 hour");
    expect(expiresIn("2026-11-24T12:00:00.000Z", now)).toBe("in 24 hours");
    expect(expiresIn("2026-11-30T12:00:00.000Z", now)).toBe("in 7 days");
  });
  it("says expired for past or malformed times", () => {
    expect(expiresIn("2026-11-23T11:00:00.000Z", now)).toBe("expired");
    expect(expiresIn("not a date", now)).toBe("expired");
  });
});
