// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConnectionState } from "@/realtime/connection";
import type { TransportKind } from "@/realtime/transport/selector";
import { ann } from "@/realtime/__tests__/fakes";
import { ConnectionStatus, NOTIFICATIONS_POLLED } from "../ConnectionStatus";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

const shown: { state: ConnectionState; transport: TransportKind; polling: boolean } = {
  state: { conn: { status: "idle" }, pending: 0 },
  transport: "websocket",
  polling: false,
};
vi.mock("@/hooks/realtime", () => ({
  getConnection: () => ({ retryNow: () => undefined }),
  useConnectionState: () => shown.state,
  useTransportKind: () => shown.transport,
  useNotifications: () => ({ state: { items: [], unread: 0, connected: false, loaded: true, polling: shown.polling }, client: null }),
}));

let root: Root;
let container: HTMLElement;

beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

const live: ConnectionState = { conn: { status: "live", user: ann, session: "s", server: "" }, pending: 0 };

describe("the connection status", () => {
  it.each([
    ["websocket", "Connected", false],
    ["sse", "Live (SSE fallback)", true],
    ["longpoll", "Live (long poll)", true],
  ] as const)("names the transport (%s) and says when cursors are not shared", (transport, text, limited) => {
    shown.state = live;
    shown.transport = transport;
    act(() => root.render(<ConnectionStatus />));
    expect(container.querySelector('[role="status"]')?.textContent).toBe(text);
    expect(container.textContent?.includes("No live cursors")).toBe(limited);
  });

  it("says only in its tooltip that notifications are polled", () => {
    shown.state = live;
    shown.transport = "longpoll";
    shown.polling = false;
    act(() => root.render(<ConnectionStatus />));
    const status = () => container.querySelector('[role="status"]');
    expect(status()?.getAttribute("title")).toBeNull();
    shown.polling = true;
    act(() => root.render(<ConnectionStatus />));
    expect(status()?.getAttribute("title")).toBe(NOTIFICATIONS_POLLED);
    expect(status()?.textContent).toBe("Live (long poll)");
  });
});
