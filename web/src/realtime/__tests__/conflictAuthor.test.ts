import { describe, expect, it } from "vitest";
import { conflictAuthor } from "../conflictAuthor";
import type { FieldWrite, NoteField } from "../store";

const writes: Partial<Record<NoteField, FieldWrite>> = {
  text: { by: "u2", seq: 7, name: "bob" },
  x: { by: "u3", seq: 9, name: "cy" },
  color: { by: null, seq: 3 },
};
const lookup = (f: NoteField) => writes[f];

describe("conflictAuthor", () => {
  it("names the newest writer of the conflicting fields", () => {
    expect(conflictAuthor(["text"], lookup, "u1")).toBe("bob");
    expect(conflictAuthor(["text", "x"], lookup, "u1")).toBe("cy");
  });
  it("is null when unknown (snapshot), unseen, or this user's own write", () => {
    expect(conflictAuthor(["color"], lookup, "u1")).toBeNull();
    expect(conflictAuthor(["w"], lookup, "u1")).toBeNull();
    expect(conflictAuthor(["text"], lookup, "u2")).toBeNull();
  });
});
