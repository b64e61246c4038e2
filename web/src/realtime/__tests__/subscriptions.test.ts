import { describe, expect, it } from "vitest";
import type { BoardMessage, ClientMessage } from "../protocol";
import { BoardSubscriptions, type BoardSubscriber } from "../subscriptions";

function subscriptions() {
  const sent: ClientMessage[] = [];
  const t = { ready: false };
  const subs = new BoardSubscriptions({ ready: () => t.ready, send: (m) => (sent.push(m), true) });
  return { subs, sent, t };
}

function subscriber(since?: number) {
  const got: BoardMessage[] = [];
  let disconnects = 0;
  const sub: BoardSubscriber = {
    since: () => since,
    onMessage: (m) => got.push(m),
    onDisconnect: () => disconnects++,
  };
  return { sub, got, disconnects: () => disconnects };
}

describe("BoardSubscriptions", () => {
  it("subscribes when ready, again after every welcome from the subscriber's since", () => {
    const { subs, sent, t } = subscriptions();
    subs.add("b1", subscriber().sub);
    expect(sent).toEqual([]);
    t.ready = true;
    subs.add("b2", subscriber(7).sub);
    subs.resendAll();
    const subscribes = sent.filter((m) => m.type === "subscribe");
    expect(subscribes.map((m) => [m.board, m.since])).toEqual([
      ["b2", 7],
      ["b1", undefined],
      ["b2", 7],
    ]);
    expect(new Set(subscribes.map((m) => m.id)).size).toBe(3);
  });

  it("routes board messages, and ends on unsubscribed with a reason", () => {
    const { subs } = subscriptions();
    const a = subscriber();
    subs.add("b1", a.sub);
    subs.route({ type: "presence", board: "b1", members: [] });
    subs.route({ type: "presence", board: "other", members: [] });
    subs.route({ type: "unsubscribed", board: "b1", reason: "revoked" });
    expect(a.got.map((m) => m.type)).toEqual(["presence", "unsubscribed"]);
    expect(subs.has("b1")).toBe(false);
  });

  it("the unsubscribe forgets the board only if it is still this subscriber's", () => {
    const { subs, sent, t } = subscriptions();
    t.ready = true;
    const off = subs.add("b1", subscriber().sub);
    const next = subscriber();
    subs.add("b1", next.sub);
    off();
    expect(subs.has("b1")).toBe(true);
    expect(sent.filter((m) => m.type === "unsubscribe")).toEqual([]);
    subs.disconnected();
    expect(next.disconnects()).toBe(1);
  });
});
