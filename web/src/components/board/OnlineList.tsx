"use client";
import { Avatar } from "@/components/ui";
import { usePopover } from "@/components/usePopover";
import type { Presence, User } from "@/realtime/protocol";

/**
 * Who is on the board now: their avatars, and on click a list with a
 * "Follow" action per person (your view then tracks theirs).
 */
export function OnlineList({
  online,
  me,
  following,
  onFollow,
}: {
  online: Presence[];
  me: User;
  following: string | null;
  /** Starts following a user (their `viewport`), or stops (`null`). */
  onFollow(userId: string | null): void;
}) {
  const { open, toggle, buttonRef, panelRef } = usePopover();
  const n = online.length;
  return (
    <section aria-label="Online" className="relative flex items-center gap-1">
      <ul className="flex gap-1">
        {online.slice(0, 6).map((p) => (
          <li key={p.user.id} className="flex shrink-0">
            <Avatar id={p.user.id} name={p.user.username} size="sm" />
          </li>
        ))}
      </ul>
      {n > 6 && <span className="ml-1 text-xs text-stone-600 dark:text-stone-400">+{n - 6}</span>}
      <button
        ref={buttonRef}
        type="button"
        onClick={toggle}
        aria-expanded={open}
        aria-haspopup="dialog"
        aria-label={`Who is online (${n}), follow someone`}
        title="Who is online · follow someone's view"
        className={`inline-flex h-7 items-center rounded-md px-1 text-stone-600 hover:bg-stone-100 dark:text-stone-300 dark:hover:bg-stone-800 ${
          following ? "bg-brand-100 text-brand-700 dark:bg-stone-800 dark:text-brand-400" : ""
        }`}
      >
        <svg viewBox="0 0 16 16" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
          <path d="M4 6l4 4 4-4" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </button>
      {open && (
        <div
          ref={panelRef}
          role="dialog"
          aria-label="Online now"
          className="absolute right-0 top-10 z-40 w-64 rounded-xl border border-stone-200 bg-white p-1 text-sm shadow-xl max-sm:fixed max-sm:inset-x-3 max-sm:top-auto max-sm:mt-2 max-sm:w-auto dark:border-stone-800 dark:bg-stone-900"
        >
          <h2 className="px-3 pb-1 pt-2 text-xs font-semibold uppercase tracking-wide text-stone-600 dark:text-stone-400">Online now</h2>
          <ul className="flex max-h-72 flex-col overflow-y-auto">
            {online.map((p) => {
              const self = p.user.id === me.id;
              const followed = following === p.user.id;
              return (
                <li key={p.user.id} className="flex items-center gap-2 rounded-lg px-3 py-1.5" data-testid="online-row">
                  <Avatar id={p.user.id} name={p.user.username} size="sm" decorative />
                  <span className="min-w-0 flex-1 truncate">
                    {p.user.username}
                    {self && <span className="text-stone-600 dark:text-stone-400"> (you)</span>}
                  </span>
                  {!self && (
                    <button
                      type="button"
                      aria-pressed={followed}
                      aria-label={followed ? `Stop following ${p.user.username}` : `Follow ${p.user.username}`}
                      onClick={() => {
                        onFollow(followed ? null : p.user.id);
                        toggle();
                      }}
                      className="shrink-0 rounded-md px-2 py-1 text-xs font-medium text-brand-700 ring-1 ring-stone-300 hover:bg-brand-50 dark:text-brand-400 dark:ring-stone-700 dark:hover:bg-stone-800"
                    >
                      {followed ? "Stop" : "Follow"}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </section>
  );
}
