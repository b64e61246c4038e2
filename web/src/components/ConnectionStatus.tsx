"use client";
import { useEffect, useState } from "react";
import { getConnection, useConnectionState, useNotifications, useTransportKind } from "@/hooks/realtime";

/** What the fallback transports cannot carry, said where the transport is named. */
const FALLBACK_LIMITS = "WebSocket is blocked on this network: others' cursors, carets and typing are not shown, and yours are not sent.";

/** Said (as the status's tooltip only) when the notifications stream does not get through and the list is polled. */
export const NOTIFICATIONS_POLLED =
  "Notifications are checked every few seconds: their live stream does not get through this network.";

/**
 * Connected / Live (SSE fallback) / Live (long poll) / Reconnecting in Ns /
 * Offline — N changes pending, as role="status".
 */
export function ConnectionStatus() {
  const { conn, pending } = useConnectionState();
  const transport = useTransportKind();
  const polled = useNotifications().state.polling;
  const [now, setNow] = useState(() => Date.now());
  const retryAt = conn.status === "reconnecting" ? conn.retryAt : 0;

  useEffect(() => {
    if (!retryAt) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [retryAt]);

  let text: string;
  let dot: string;
  const secs = Math.max(0, Math.ceil((retryAt - now) / 1000));
  switch (conn.status) {
    case "live":
      text = transport === "sse" ? "Live (SSE fallback)" : transport === "longpoll" ? "Live (long poll)" : "Connected";
      dot = transport === "websocket" ? "bg-emerald-500" : "bg-sky-500";
      break;
    case "reconnecting":
      text = pending > 0 ? `Offline — ${pending} ${pending === 1 ? "change" : "changes"} pending` : `Reconnecting in ${secs}s`;
      dot = "bg-amber-500";
      break;
    case "offline":
      text = `Offline — ${pending} ${pending === 1 ? "change" : "changes"} pending`;
      dot = "bg-stone-400";
      break;
    case "unauthorized":
      text = "Signed out";
      dot = "bg-red-500";
      break;
    default:
      text = "Connecting…";
      dot = "bg-amber-400 animate-pulse";
  }
  const showRetry = conn.status === "reconnecting" || conn.status === "offline";
  const limited = conn.status === "live" && transport !== "websocket";

  return (
    <div className="flex items-center gap-2 text-xs">
      <div
        role="status"
        title={polled ? NOTIFICATIONS_POLLED : undefined}
        className="inline-flex items-center gap-1.5 rounded-full bg-stone-100 px-2.5 py-1 font-medium text-stone-700 dark:bg-stone-800 dark:text-stone-300"
      >
        <span className={`h-2 w-2 rounded-full ${dot}`} aria-hidden="true" />
        {text}
      </div>
      {limited && (
        <span className="hidden text-stone-500 sm:inline dark:text-stone-400" title={FALLBACK_LIMITS}>
          No live cursors
        </span>
      )}
      {showRetry && (
        <button
          type="button"
          onClick={() => getConnection().retryNow()}
          className="hidden rounded-full px-2 py-1 font-medium text-brand-700 hover:bg-brand-50 sm:inline dark:text-brand-400 dark:hover:bg-stone-800"
        >
          {conn.status === "reconnecting" && pending > 0 ? `Retry now (${secs}s)` : "Retry now"}
        </button>
      )}
    </div>
  );
}
