"use client";
/**
 * The tab's real-time singletons (one Connection, one notifications stream)
 * and the React hooks over them. Created lazily in the browser only.
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import ReconnectingEventSource from "reconnecting-eventsource";
import { api, NOTIFICATIONS_STREAM } from "@/lib/api";
import { wsUrl } from "@/lib/config";
import { onPageHide } from "@/lib/pageHide";
import { BoardClient, type BoardMeta } from "@/realtime/board";
import { Connection, type ConnectionState } from "@/realtime/connection";
import { NotificationsClient, type EventSourceLike, type NotificationsState } from "@/realtime/notifications";
import { attachOffline } from "@/realtime/persist/boardCache";
import { OfflineSync } from "@/realtime/persist/offline";
import type { User } from "@/realtime/protocol";
import type { BoardView } from "@/realtime/store";
import { browserSocket } from "@/realtime/socket";
import { BrowserEventSource, browserHttp } from "@/realtime/transport/browser";
import { TransportSelector, type TransportKind } from "@/realtime/transport/selector";

let connection: Connection | null = null;
let transports: TransportSelector | null = null;
let notifications: NotificationsClient | null = null;
let offline: OfflineSync | null = null;
let offlineStarted = false;

/** The tab's offline layer (persist/): created with the connection, whose outbox it journals. */
export function getOffline(): OfflineSync {
  if (!offline) offline = new OfflineSync();
  return offline;
}

export function getConnection(): Connection {
  if (!connection) {
    // WebSocket first; SSE, then long poll, where it is blocked (src/realtime/transport/).
    transports = new TransportSelector({ createWebSocket: browserSocket, http: browserHttp() });
    connection = new Connection({ url: wsUrl, createSocket: transports.create, journal: getOffline().journal });
    connection.start();
  }
  return connection;
}

/** The session is being asked: the last user's offline storage starts opening meanwhile. */
export function prewarmOffline(userId: string): void {
  if (typeof indexedDB !== "undefined") getOffline().prewarm(userId);
}

/**
 * The session is known: opens the user's offline storage and warns on leaving
 * the page while edits are pending and not yet stored (only then: stored ones
 * are sent after the next load).
 */
export function startOffline(user: User): void {
  const o = getOffline();
  if (offlineStarted || typeof indexedDB === "undefined" || typeof window === "undefined") return;
  offlineStarted = true;
  o.signIn(user, getConnection());
  window.addEventListener("beforeunload", (e) => {
    if (o.unsaved > 0) e.preventDefault();
  });
}

export function getNotifications(): NotificationsClient {
  if (!notifications) {
    notifications = new NotificationsClient({
      streamUrl: NOTIFICATIONS_STREAM,
      openStream: (url) =>
        new ReconnectingEventSource(url, {
          withCredentials: true,
          max_retry_time: 30_000,
          // Read with fetch, so that a stream silent past its keep-alives counts as dropped.
          eventSourceClass: BrowserEventSource as unknown as typeof EventSource,
        }) as unknown as EventSourceLike,
      fetchList: (after) => api.notifications(after),
      markRead: (upTo) => api.markRead(upTo),
      markOneRead: (id) => api.markOneRead(id),
      fetchOlder: (before) => api.notificationsBefore(before),
    });
    void notifications.start();
  }
  return notifications;
}

/** Closes everything (sign-out). */
export function shutdownRealtime(): void {
  connection?.stop();
  connection = null;
  transports?.dispose();
  transports = null;
  offline?.stop();
  offline = null;
  offlineStarted = false;
  notifications?.stop();
  notifications = null;
}

const idleState: ConnectionState = { conn: { status: "idle" }, pending: 0 };
const emptyNotifications: NotificationsState = {
  items: [],
  unread: 0,
  connected: false,
  loaded: false,
  polling: false,
  hasOlder: false,
  loadingOlder: false,
};

// Subscribing (after mount) creates the singletons; before that the snapshots are the idle ones.
const subscribeConnection = (cb: () => void) => getConnection().state.on(cb);
const connectionSnapshot = () => (connection ? connection.getState() : idleState);
const subscribeNotifications = (cb: () => void) => getNotifications().changes.on(cb);
const notificationsSnapshot = () => (notifications ? notifications.getState() : emptyNotifications);

/** The tab connection's status and outbox size. */
export function useConnectionState(): ConnectionState {
  return useSyncExternalStore(subscribeConnection, connectionSnapshot, () => idleState);
}

const subscribeTransport = (cb: () => void) => {
  getConnection();
  return transports?.changes.on(cb) ?? (() => undefined);
};
const transportSnapshot = (): TransportKind => transports?.kind ?? "websocket";

/** The transport the tab's connection uses: WebSocket, or the SSE / long-poll fallback. */
export function useTransportKind(): TransportKind {
  return useSyncExternalStore(subscribeTransport, transportSnapshot, () => "websocket");
}

/**
 * Calls `onChange` (debounced by `debounceMs`) whenever the caller's boards
 * list changed: `event: boards` on the notifications stream, or every poll
 * while the stream is held (see `NotificationsClient.boardsChanged`).
 */
export function useBoardsChanged(onChange: () => void, debounceMs = 250): void {
  const latest = useRef(onChange);
  useEffect(() => {
    latest.current = onChange;
  }, [onChange]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = getNotifications().boardsChanged.on(() => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        latest.current();
      }, debounceMs);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [debounceMs]);
}

/** Notifications list and unread count, live. */
export function useNotifications(): { state: NotificationsState; client: NotificationsClient | null } {
  const state = useSyncExternalStore(subscribeNotifications, notificationsSnapshot, () => emptyNotifications);
  return { state, client: notifications };
}

const emptyMeta: BoardMeta = {
  status: "loading",
  removedBy: null,
  roleChange: null,
  presence: [],
  cursors: [],
  typing: [],
  notices: [],
  selections: [],
  drags: [],
  viewports: [],
  membersVersion: 0,
  canUndo: false,
  canRedo: false,
};
const noUnsubscribe = () => undefined;
const serverView = () => null;
const serverMeta = () => emptyMeta;

/**
 * Opens a board on the tab's connection (or on `connection`, for tests) for
 * as long as the component is mounted. Returns the optimistic view, the
 * ephemeral meta and the client.
 *
 * The board is subscribed once per board id: the client is created in an
 * effect (with a cancel flag, stopped on unmount), and the store listeners
 * depend only on the client, so a re-render subscribes nothing again.
 */
export function useBoard(
  boardId: string | null,
  connection?: Connection,
): {
  client: BoardClient | null;
  view: BoardView | null;
  meta: BoardMeta;
} {
  const [client, setClient] = useState<BoardClient | null>(null);

  useEffect(() => {
    if (!boardId) return;
    let cancelled = false;
    const c = new BoardClient(connection ?? getConnection(), boardId);
    // The tab's own connection only (tests pass theirs): that is the one the journal belongs to.
    const detach = connection ? null : attachOffline(c, getOffline());
    c.start();
    const offHide = onPageHide((leaving) => c.flushText(leaving));
    // Publish after mount (and not at all if already unmounted, as in Strict Mode's double effects).
    queueMicrotask(() => {
      if (!cancelled) setClient(c);
    });
    return () => {
      cancelled = true;
      detach?.();
      offHide();
      c.stop();
      setClient((cur) => (cur === c ? null : cur));
    };
  }, [boardId, connection]);

  const subscribeView = useCallback((cb: () => void) => (client ? client.store.changes.on(cb) : noUnsubscribe), [client]);
  const viewSnapshot = useCallback(() => (client ? client.store.getView() : null), [client]);
  const subscribeMeta = useCallback((cb: () => void) => (client ? client.meta.on(cb) : noUnsubscribe), [client]);
  const metaSnapshot = useCallback(() => (client ? client.getMeta() : emptyMeta), [client]);

  const view = useSyncExternalStore(subscribeView, viewSnapshot, serverView);
  const meta = useSyncExternalStore(subscribeMeta, metaSnapshot, serverMeta);
  return { client, view, meta };
}
