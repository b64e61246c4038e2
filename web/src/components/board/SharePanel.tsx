"use client";
import { useCallback, useState } from "react";
import { api, ApiError, inviteLink, type InviteInfo } from "@/lib/api";
import { useToast } from "@/components/toasts";
import { Button } from "@/components/ui";
import { usePopover } from "@/components/usePopover";
import { PanelButton } from "./PanelButton";
import type { InviteRole, Member } from "@/realtime/protocol";
import { InviteByName } from "./InviteByName";

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
 * A link's lifetimes the menu offers, in seconds. The server refuses more
 * than `--invite-max-ttl` (30 days by default), so there is no "never".
 */
export const LINK_EXPIRY: readonly { label: string; seconds: number }[] = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 24 * 3600 },
  { label: "7 days", seconds: 7 * 24 * 3600 },
  { label: "30 days", seconds: 30 * 24 * 3600 },
];

/** "5 min ago", "3 hours ago", or the date. */
function ago(iso: string, now: number = Date.now()): string {
  const mins = Math.round((now - new Date(iso).getTime()) / 60_000);
  if (!(mins >= 0)) return "";
  if (mins < 1) return "just now";
  if (mins < 60) return `${mins} min ago`;
  if (mins < 48 * 60) return `${Math.round(mins / 60)} h ago`;
  return new Date(iso).toLocaleDateString();
}

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The owner's Share menu: invite someone by username (with suggestions),
 * create an invite link (role, lifetime, single use; copied and shown), and
 * the board's live links (role, created, expiry, uses) with Revoke.
 */
export function SharePanel({ boardId }: { boardId: string }) {
  const toast = useToast();
  const [role, setRole] = useState<InviteRole>("editor");
  const [expiry, setExpiry] = useState(LINK_EXPIRY[2].seconds);
  const [singleUse, setSingleUse] = useState(false);
  const [link, setLink] = useState<string | null>(null);
  const [invites, setInvites] = useState<InviteInfo[] | null>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { open, toggle, buttonRef, panelRef } = usePopover();

  const load = useCallback(() => {
    api.invites(boardId).then(
      (r) => setInvites(r.invites),
      (e: ApiError) => setError(e.message),
    );
    api.members(boardId).then(
      (r) => setMembers(r.members),
      () => setMembers([]),
    );
  }, [boardId]);

  const createLink = async () => {
    setError(null);
    try {
      const { token } = await api.invite(boardId, role, { singleUse, expiresIn: expiry });
      const url = inviteLink(token);
      setLink(url);
      toast(
        (await copy(url))
          ? `${role === "editor" ? "Editor" : "Viewer"} invite link copied`
          : "Invite link created: copy it below",
      );
      load();
    } catch (e) {
      setError(`Couldn't create the link: ${(e as ApiError).message}`);
    }
  };

  const inviteByName = async (username: string, r: InviteRole): Promise<boolean> => {
    setError(null);
    try {
      await api.invite(boardId, r, { username });
      toast(`Invited ${username} as ${r === "editor" ? "an editor" : "a viewer"}: they get a notification`);
      load();
      return true;
    } catch (e) {
      const err = e as ApiError;
      setError(err.code === "not_found" ? `There is no user named ${username}.` : `Couldn't invite ${username}: ${err.message}`);
      return false;
    }
  };

  // Optimistic: the row goes at once and comes back if the server refuses.
  const revoke = async (i: InviteInfo) => {
    setError(null);
    setInvites((list) => list?.filter((x) => x.id !== i.id) ?? list);
    try {
      await api.revokeInvite(boardId, i.id);
      toast("Invite link revoked");
    } catch (e) {
      setError(`Couldn't revoke the link: ${(e as ApiError).message}`);
      load();
    }
  };

  const select =
    "h-8 rounded-md border border-stone-300 bg-white px-1.5 text-sm dark:border-stone-700 dark:bg-stone-900";
  return (
    <div className="relative">
      <PanelButton
        buttonRef={buttonRef}
        open={open}
        toggle={toggle}
        onOpen={() => {
          setError(null);
          load();
        }}
      >
        Share
      </PanelButton>
      {open && (
        <div
          ref={panelRef}
          role="dialog"
          aria-label="Share"
          className="absolute right-0 top-10 z-40 flex max-h-[80vh] w-80 flex-col gap-3 overflow-y-auto rounded-xl border border-stone-200 bg-white p-3 text-sm shadow-xl max-sm:fixed max-sm:inset-x-3 max-sm:top-auto max-sm:mt-2 max-sm:w-auto dark:border-stone-800 dark:bg-stone-900"
        >
          {error && (
            <p role="alert" className="rounded-md bg-red-50 px-2 py-1.5 text-xs text-red-700 dark:bg-red-950 dark:text-red-300">
              {error}
            </p>
          )}
          <InviteByName members={members} onInvite={inviteByName} />

          <section aria-label="New invite link" className="flex flex-col gap-2 border-t border-stone-200 pt-3 dark:border-stone-800">
            <h2 className="text-xs font-semibold uppercase tracking-wide text-stone-500 dark:text-stone-400">Invite link</h2>
            <div className="flex gap-2">
              <select aria-label="Link role" className={`${select} flex-1`} value={role} onChange={(e) => setRole(e.target.value as InviteRole)}>
                <option value="editor">Editor</option>
                <option value="viewer">Viewer</option>
              </select>
              <select aria-label="Link expires after" className={`${select} flex-1`} value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
                {LINK_EXPIRY.map((x) => (
                  <option key={x.seconds} value={x.seconds}>
                    {`Expires in ${x.label}`}
                  </option>
                ))}
              </select>
            </div>
            <label className="flex items-center gap-2 text-stone-600 dark:text-stone-400">
              <input type="checkbox" checked={singleUse} onChange={(e) => setSingleUse(e.target.checked)} />
              Single use (one person can join)
            </label>
            <Button size="sm" onClick={() => void createLink()}>
              Create and copy link
            </Button>
            {link && (
              <input
                aria-label="New invite link"
                data-testid="new-invite-link"
                readOnly
                value={link}
                onFocus={(e) => e.currentTarget.select()}
                className="h-8 w-full rounded-md border border-stone-300 bg-stone-50 px-2 font-mono text-xs dark:border-stone-700 dark:bg-stone-950"
              />
            )}
          </section>

          <section aria-label="Invite links" className="border-t border-stone-200 pt-3 dark:border-stone-800">
            <h2 className="mb-1 text-xs font-semibold uppercase tracking-wide text-stone-500 dark:text-stone-400">Active invites</h2>
            {invites === null ? (
              <p className="text-xs text-stone-500 dark:text-stone-400">Loading…</p>
            ) : invites.length === 0 ? (
              <p className="text-xs text-stone-500 dark:text-stone-400">No active invites.</p>
            ) : (
              <ul className="flex max-h-56 flex-col gap-1 overflow-y-auto">
                {invites.map((i) => (
                  <li key={i.id} className="flex items-center justify-between gap-2" data-testid="invite-row">
                    <span className="min-w-0 text-xs text-stone-600 dark:text-stone-400">
                      <span className="font-medium text-stone-800 dark:text-stone-200">{i.role}</span>
                      {i.username ? ` for ${i.username}` : " link"}
                      {i.single_use ? (i.uses > 0 ? " · single use, used" : " · single use") : ` · ${i.uses} joined`}
                      {` · made ${ago(i.created_at)} · expires ${expiresIn(i.expires_at)}`}
                    </span>
                    <button
                      type="button"
                      aria-label={`Revoke ${i.role} ${i.username ? `invite for ${i.username}` : "link"}`}
                      className="shrink-0 rounded-md px-2 py-1 text-xs font-medium text-red-600 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-950"
                      onClick={() => void revoke(i)}
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
