"use client";
import { useNotifications } from "@/hooks/realtime";
import { inviteLink } from "@/lib/api";
import { openBoard } from "@/lib/nav";
import type { Notification } from "@/realtime/protocol";
import { useToast } from "./toasts";
import { usePopover } from "./usePopover";

function timeAgo(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

function describe(n: Notification): { title: string; body: string } {
  const who = n.by?.username ?? "Someone";
  switch (n.kind) {
    case "mention":
      return { title: `${who} mentioned you`, body: n.text };
    case "invited":
      return { title: `${who} invited you to a board`, body: "Open it to join." };
    default:
      return { title: `Activity on a board`, body: n.text || `${who} made changes` };
  }
}

const icons: Record<string, string> = { mention: "@", invited: "✉", "board.activity": "•" };

export function NotificationsButton() {
  const { state, client } = useNotifications();
  const { open, toggle, buttonRef: button, panelRef: panel } = usePopover();
  const toast = useToast();

  const markOne = (n: Notification) =>
    client?.markOneRead(n.id).catch(() => toast("Couldn't mark as read", "error")) ?? Promise.resolve();

  const openItem = async (n: Notification) => {
    // Read once opened; the page is left only after the server has it.
    if (!n.read) await markOne(n);
    if (n.kind === "invited" && n.text) {
      // The invite page shows the board and role and asks before joining.
      window.location.assign(inviteLink(n.text));
      return;
    }
    // On the note when there is one (a mention): the board pans to it and selects it.
    if (n.board) openBoard(n.board, n.note);
  };

  const unread = state.unread;
  return (
    <div className="relative">
      <button
        ref={button}
        type="button"
        aria-label={`Notifications, ${unread} unread`}
        aria-expanded={open}
        aria-haspopup="true"
        onClick={toggle}
        className="relative inline-flex h-9 w-9 items-center justify-center rounded-lg text-stone-600 hover:bg-stone-200/70 dark:text-stone-300 dark:hover:bg-stone-800"
      >
        <svg viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
          <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" strokeLinejoin="round" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" strokeLinecap="round" />
        </svg>
        {unread > 0 && (
          <span
            aria-hidden="true"
            className="absolute -right-0.5 -top-0.5 min-w-[1.1rem] rounded-full bg-red-600 px-1 text-center text-[0.68rem] font-bold leading-[1.1rem] text-white ring-2 ring-white dark:ring-stone-950"
          >
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          ref={panel}
          role="dialog"
          aria-label="Notifications"
          className="absolute right-0 top-11 z-40 w-[22rem] overflow-hidden max-sm:fixed max-sm:inset-x-3 max-sm:top-auto max-sm:mt-2 max-sm:w-auto rounded-xl border border-stone-200 bg-white shadow-xl dark:border-stone-800 dark:bg-stone-900"
        >
          <div className="flex items-center justify-between border-b border-stone-200 px-4 py-2.5 dark:border-stone-800">
            <h2 className="text-sm font-semibold">Notifications</h2>
            <button
              type="button"
              disabled={unread === 0}
              onClick={() => void client?.markAllRead().catch(() => toast("Couldn't mark as read", "error"))}
              className="text-xs font-medium text-brand-700 hover:underline disabled:text-stone-400 disabled:no-underline dark:text-brand-400"
            >
              Mark all read
            </button>
          </div>
          {state.items.length === 0 ? (
            <p className="px-4 py-10 text-center text-sm text-stone-500 dark:text-stone-400">
              {state.loaded ? "You're all caught up." : "Loading…"}
            </p>
          ) : (
            <ul className="max-h-[60vh] divide-y divide-stone-100 overflow-y-auto dark:divide-stone-800">
              {state.items.map((n) => {
                const d = describe(n);
                return (
                  <li
                    key={n.id}
                    data-notification-id={n.id}
                    data-read={n.read ? "true" : "false"}
                    className={`relative flex ${n.read ? "" : "bg-brand-50/70 dark:bg-brand-700/15"}`}
                  >
                    {!n.read && <span aria-hidden="true" className="absolute inset-y-0 left-0 w-1 bg-brand-500" />}
                    <button
                      type="button"
                      onClick={() => void openItem(n)}
                      className="flex min-w-0 flex-1 gap-3 px-4 py-3 text-left hover:bg-stone-50 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-brand-500 dark:hover:bg-stone-800/60"
                    >
                      <span
                        aria-hidden="true"
                        className="mt-0.5 flex h-7 w-7 shrink-0 items-center justify-center rounded-full bg-brand-100 text-sm font-bold text-brand-700 dark:bg-brand-700/30 dark:text-brand-400"
                      >
                        {icons[n.kind] ?? "•"}
                      </span>
                      <span className="min-w-0 flex-1">
                        <span className="flex items-center gap-2">
                          <span className="truncate text-sm font-medium">{d.title}</span>
                          {!n.read && <span className="h-2 w-2 shrink-0 rounded-full bg-brand-500" aria-hidden="true" />}
                        </span>
                        <span className="line-clamp-2 text-xs text-stone-600 dark:text-stone-400">{d.body}</span>
                        <span className="text-[0.7rem] text-stone-500 dark:text-stone-400">
                          {timeAgo(n.at)}
                          {!n.read && <span className="sr-only"> (unread)</span>}
                        </span>
                      </span>
                    </button>
                    {!n.read && (
                      <button
                        type="button"
                        onClick={() => void markOne(n)}
                        aria-label={`Mark read: ${d.title}`}
                        title="Mark read"
                        className="m-2 inline-flex h-8 w-8 shrink-0 items-center justify-center self-center rounded-md text-stone-600 hover:bg-stone-200/70 focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-stone-300 dark:hover:bg-stone-700"
                      >
                        <svg viewBox="0 0 16 16" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
                          <path d="m3 8.5 3 3 7-7" strokeLinecap="round" strokeLinejoin="round" />
                        </svg>
                      </button>
                    )}
                  </li>
                );
              })}
              {state.hasOlder && (
                <li className="p-2">
                  <button
                    type="button"
                    disabled={state.loadingOlder}
                    onClick={() => void client?.loadOlder().catch(() => toast("Couldn't load older notifications", "error"))}
                    className="w-full rounded-lg px-3 py-2 text-sm font-medium text-brand-700 hover:bg-stone-100 disabled:text-stone-500 dark:text-brand-400 dark:hover:bg-stone-800"
                  >
                    {state.loadingOlder ? "Loading…" : "Load older"}
                  </button>
                </li>
              )}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
