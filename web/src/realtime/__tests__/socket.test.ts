import { describe, expect, it } from "vitest";
import { SocketAdapter } from "../socket";
import { FakeSocket } from "./fakes";

function adapter() {
  const raw = new FakeSocket("ws://test/ws", ["corkboard.v1"]);
  return { raw, socket: new SocketAdapter(raw) };
}

describe("SocketAdapter", () => {
  it("reports the socket's status and sends only while open", () => {
    const { raw, socket } = adapter();
    expect(socket.status).toBe("connecting");
    expect(socket.send({ type: "ping" })).toBe(false);
    raw.open();
    expect(socket.status).toBe("open");
    expect(socket.send({ type: "ping", t: 1 })).toBe(true);
    expect(raw.sent).toEqual([{ type: "ping", t: 1 }]);
  });

  it("delivers well-formed messages to each listener until it unsubscribes", () => {
    const { raw, socket } = adapter();
    raw.open();
    const a: string[] = [];
    const b: string[] = [];
    const offA = socket.onMessage((m) => a.push(m.type));
    socket.onMessage((m) => b.push(m.type));
    raw.receive({ type: "pong" });
    raw.onmessage?.({ data: "not json" });
    raw.onmessage?.({ data: JSON.stringify({ no: "type" }) });
    raw.onmessage?.({ data: new ArrayBuffer(2) });
    offA();
    raw.receive({ type: "pong", t: 2 });
    expect(a).toEqual(["pong"]);
    expect(b).toEqual(["pong", "pong"]);
  });

  it("reports a remote close once, then hears nothing more", () => {
    const { raw, socket } = adapter();
    raw.open();
    const closes: { code: number; reason: string }[] = [];
    const heard: string[] = [];
    socket.onClose((c) => closes.push(c));
    socket.onMessage((m) => heard.push(m.type));
    raw.drop(1013, "overloaded");
    raw.drop(1006);
    raw.receive({ type: "pong" });
    expect(closes).toEqual([{ code: 1013, reason: "overloaded" }]);
    expect(heard).toEqual([]);
    expect(socket.status).toBe("closed");
    expect(socket.send({ type: "ping" })).toBe(false);
  });

  it("a close from this side closes the socket with the code and tells no listener", () => {
    const { raw, socket } = adapter();
    raw.open();
    let closes = 0;
    socket.onClose(() => closes++);
    socket.close(4000, "missed pongs");
    expect(raw.closedWith).toEqual({ code: 4000, reason: "missed pongs" });
    expect(raw.onclose).toBeNull();
    expect(closes).toBe(0);
    expect(socket.status).toBe("closed");
  });
});
