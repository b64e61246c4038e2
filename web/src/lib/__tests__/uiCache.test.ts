import { describe, expect, it } from "vitest";
import { staticPaths, uiCacheName } from "../uiCache";

describe("uiCache", () => {
  it("keeps only this origin's /_next/static files", () => {
    const entries = [
      { name: "http://a.test/_next/static/chunks/x.js" },
      { name: "http://a.test/api/me" },
      { name: "http://b.test/_next/static/chunks/y.js" },
      { name: "not a url" },
    ] as PerformanceEntry[];
    expect(staticPaths(entries, "http://a.test")).toEqual(["/_next/static/chunks/x.js"]);
  });

  it("names the cache after the build, as public/sw.js does", () => {
    expect(uiCacheName("42")).toBe("corkboard-ui-42");
  });
});
