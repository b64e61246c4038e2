import { describe, expect, it } from "vitest";
import { CLIP_FORMAT, fromHtml, MAX_PASTE, noteFromText, parsePayload, placeAt, toHtml, toPayload, toPlainText } from "../noteClipboard";

const n = (text: string, x: number, y: number) => ({ text, x, y, w: 200, h: 140, color: "pink" as const });

describe("note clipboard payload", () => {
  it("round-trips through the HTML form, texts with quotes, tags and ampersands intact", () => {
    const p = toPayload([{ ...n(`a "quoted" <b>bold</b> & more`, 10, 20), id: "x", version: 3 } as ReturnType<typeof n>, n("second", 300, 20)]);
    const html = toHtml(p);
    expect(html).not.toContain("<b>bold");
    expect(fromHtml(html)).toEqual(p);
    expect(p.notes[0]).not.toHaveProperty("id");
  });

  it("the plain-text form lists the texts", () => {
    expect(toPlainText(toPayload([n("one", 0, 0), n("two", 0, 0)]))).toBe("one\n\ntwo");
  });

  it("rejects what is not ours and repairs what is off", () => {
    expect(fromHtml("<p>hello</p>")).toBeNull();
    expect(parsePayload("not json")).toBeNull();
    expect(parsePayload(JSON.stringify({ format: "other", notes: [n("a", 0, 0)] }))).toBeNull();
    expect(parsePayload(JSON.stringify({ format: CLIP_FORMAT, notes: [] }))).toBeNull();
    const p = parsePayload(JSON.stringify({ format: CLIP_FORMAT, notes: [{ text: "x".repeat(20_000), x: 1.6, y: "?", w: 1, h: 9e9, color: "red" }, { x: 0, y: 0, w: 100, h: 100 }] }));
    expect(p?.notes).toEqual([{ text: "", x: 0, y: 0, w: 100, h: 100, color: "yellow" }]);
    const many = parsePayload(JSON.stringify({ format: CLIP_FORMAT, notes: Array.from({ length: 500 }, () => n("a", 0, 0)) }));
    expect(many?.notes).toHaveLength(MAX_PASTE);
  });

  it("a paste keeps the copied layout, moved to the paste point", () => {
    const p = toPayload([n("a", 100, 50), n("b", 400, 250)]);
    expect(placeAt(p, 1000, 1000).map((c) => [c.x, c.y])).toEqual([
      [1000, 1000],
      [1300, 1200],
    ]);
  });

  it("plain text over the limit is cut, and says by how much", () => {
    expect(noteFromText("short")).toEqual({ text: "short", cut: 0 });
    const r = noteFromText("é".repeat(10_250));
    expect(r.cut).toBe(250);
    expect([...r.text]).toHaveLength(10_000);
  });
});
