import { describe, expect, it } from "vitest";
import { DEFAULT_NEXT, safeNext } from "../safeNext";

const origin = "https://cork.example";

describe("safeNext", () => {
  it("follows paths on this site", () => {
    expect(safeNext("/boards/b1/", origin)).toBe("/boards/b1/");
    expect(safeNext("/invite/?token=cbi_1#x", origin)).toBe("/invite/?token=cbi_1#x");
    expect(safeNext("/a/../settings", origin)).toBe("/settings");
    expect(safeNext("/", origin)).toBe("/");
  });

  it("falls back when next is missing", () => {
    expect(safeNext(null, origin)).toBe(DEFAULT_NEXT);
    expect(safeNext(undefined, origin)).toBe(DEFAULT_NEXT);
    expect(safeNext("", origin)).toBe(DEFAULT_NEXT);
  });

  it.each([
    ["a protocol-relative URL", "//evil.example"],
    ["a backslash, read as a slash", "/\\evil.example"],
    ["backslashes only", "\\\\evil.example"],
    ["a tab the URL parser drops", "/\t/evil.example"],
    ["a newline the URL parser drops", "/\n/evil.example"],
    ["a carriage return", "/\r\\evil.example"],
    ["a NUL", "/\u0000/evil.example"],
    ["DEL", "/\u007f/evil.example"],
    ["an absolute URL", "https://evil.example/boards/"],
    ["an absolute URL, even to this site", "https://cork.example/boards/"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["a data: URL", "data:text/html,<script>alert(1)</script>"],
    ["a relative path", "boards/"],
    ["a leading space", " //evil.example"],
  ])("refuses %s", (_, next) => {
    expect(safeNext(next, origin)).toBe(DEFAULT_NEXT);
  });

  it("refuses whatever resolves to another origin", () => {
    expect(safeNext("/boards/", "not an origin")).toBe(DEFAULT_NEXT);
  });
});
