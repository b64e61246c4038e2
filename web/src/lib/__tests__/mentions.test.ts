import { describe, expect, it } from "vitest";
import { insertMention, matchMembers, mentionAt } from "../mentions";

describe("mentionAt", () => {
  it("finds the @query at the caret", () => {
    expect(mentionAt("hi @", 4)).toEqual({ start: 3, query: "" });
    expect(mentionAt("hi @bo", 6)).toEqual({ start: 3, query: "bo" });
    expect(mentionAt("@ann.k", 6)).toEqual({ start: 0, query: "ann.k" });
    expect(mentionAt("hi @bo there", 6)).toEqual({ start: 3, query: "bo" });
  });
  it("is null elsewhere: no @, a space after it, an e-mail address", () => {
    expect(mentionAt("hello", 5)).toBeNull();
    expect(mentionAt("hi @bo x", 8)).toBeNull();
    expect(mentionAt("mail ann@example", 16)).toBeNull();
    expect(mentionAt("", 0)).toBeNull();
  });
});

describe("matchMembers", () => {
  const ms = [{ username: "bob" }, { username: "anna" }, { username: "joanne" }, { username: "ann" }, { username: "me" }];
  it("puts prefixes first, then substrings, leaves the user out", () => {
    expect(matchMembers(ms, "an", "me").map((m) => m.username)).toEqual(["ann", "anna", "joanne"]);
    expect(matchMembers(ms, "", "me").map((m) => m.username)).toEqual(["ann", "anna", "bob", "joanne"]);
    expect(matchMembers(ms, "BO", "me").map((m) => m.username)).toEqual(["bob"]);
    expect(matchMembers(ms, "zz", "me")).toEqual([]);
    expect(matchMembers(ms, "", "me", 2)).toHaveLength(2);
  });
});

describe("insertMention", () => {
  it("replaces the query with @username and a space, caret after it", () => {
    expect(insertMention("hi @bo", { start: 3, query: "bo" }, 6, "bob")).toEqual({ text: "hi @bob ", caret: 8 });
    expect(insertMention("hi @b there", { start: 3, query: "b" }, 5, "bob")).toEqual({ text: "hi @bob there", caret: 8 });
  });
});
