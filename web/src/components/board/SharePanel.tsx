"use client";
import { useCallback, useState } from "react";
import { api, ApiError, type InviteInfo } from "@/lib/api";
import { useToast } from "@/components/toasts";
import { usePopover } from "@/components/usePopover";
import type { InviteRole } from "@/realtime/protocol";

/** How long until `iso`, in words ("in 6 days", "in 3 hours"). */
export function expiresIn(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return "expired";
  const mins = Math.round(ms / 60_000);
  if (mins < 60) return `in ${Math.max(mins, 1)} min`;
  const hours = Math.round(mins / 60);
  if (hours < 48) return `in ${hours} hour${hours === 1 ? "" : "s"}`;
  return `in ${Math.round(hours / 24)} days`;
}

/**
 * The owner's Share menu: copy an editor or viewer link (optionally single
 * use), and the board's live links with their expiry and a Revoke button.
 */
export function SharePanel({
  boardId,
  onInvite,
}: {
  boardId: string;
  onInvite(role: InviteRole, singleUse: boolean): Promise<void>;
}) {
  const toast = useToast();
  const [singleUse, setSingleUse] = useState(false);
  const [invites, setInvites] = useState<InviteInfo[] | null>(null);
  const { open, toggle, buttonRef, panelRef } = usePopover();

  const load = useCallback(() => {
    api.invites(boardId).then(
      (r) => setInvites(r.invites),
      (e: ApiError) => toast(e.message, "error"),
    );
  }, [boardId, toast]);

  const create = async (role: InviteRole) => {
    await onInvite(role, singleUse);
    load();
  };

  const revoke = async (id: string) => {
    try {
      await api.revokeInvite(boardId, id);
      toast("Invite link revoked");
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
    load();
  };

  const item = "w-full rounded-lg px-3 py-2 text-left hover:bg-stone-100 dark:hover:bg-stone-800";
  return (
    <div className="relative">
      <button
        ref={buttonRef}
        type="button"
        aria-expanded={open}
        aria-haspopup="dialog"
        onClick={() => {
          if (!open) load();
          toggle();
        }}
        className="inline-flex h-8 items-center rounded-lg px-2.5 text-sm font-medium ring-1 ring-stone-300 hover:bg-stone-50 dark:ring-stone-700 dark:hover:bg-stone-800"
      >
        Share
      </button>
      {open && (
      <div
        ref={panelRef}
        role="dialog"
        aria-label="Share"
        className="absolute right-0 top-10 z-40 w-72 rounded-xl max-sm:fixed max-sm:inset-x-3 max-sm:top-auto max-sm:mt-2 max-sm:w-auto border border-stone-200 bg-white p-1 text-sm shadow-xl dark:border-stone-800 dark:bg-stone-900"
      >
        <button type="button" className={item} onClick={() => void create("editor")}>
          Copy editor link
        </button>
        <button type="button" className={item} onClick={() => void create("viewer")}>
          Copy viewer link
        </button>
        <label className="flex items-center gap-2 px-3 py-2 text-stone-600 dark:text-stone-400">
          <input type="checkbox" checked={singleUse} onChange={(e) => setSingleUse(e.target.checked)} />
          Single use (one person can join)
        </label>
        <section aria-label="Invite links" className="border-t border-stone-200 px-3 py-2 dark:border-stone-800">
          <h2 className="mb-1 text-xs font-semibold uppercase tracking-wide text-stone-500 dark:text-stone-400">Active links</h2>
          {invites === null ? (
            <p className="text-xs text-stone-500 dark:text-stone-400">Loading…</p>
          ) : invites.length === 0 ? (
            <p className="text-xs text-stone-500 dark:text-stone-400">No active links.</p>
          ) : (
            <ul className="flex max-h-56 flex-col gap-1 overflow-y-auto">
              {invites.map((i) => (
                <li key={i.id} className="flex items-center justify-between gap-2" data-testid="invite-row">
                  <span className="min-w-0 text-xs text-stone-600 dark:text-stone-400">
                    <span className="font-medium text-stone-800 dark:text-stone-200">{i.role}</span>
                    {i.username ? ` for ${i.username}` : ""}
                    {i.single_use ? (i.uses > 0 ? " · used" : " · single use") : ` · ${i.uses} joined`}
                    {` · expires ${expiresIn(i.expires_at)}`}
                  </span>
                  <button
                    type="button"
                    className="shrink-0 rounded-md px-2 py-1 text-xs font-medium text-red-600 hover:bg-red-50 dark:hover:bg-red-950"
                    onClick={() => void revoke(i.id)}
                  >
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      )}
    </div>
  );
}
