"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { useToast } from "@/components/toasts";
import { Avatar, Spinner } from "@/components/ui";
import { usePopover } from "@/components/usePopover";
import { PanelButton } from "./PanelButton";
import { api, type ApiError } from "@/lib/api";
import { applyMemberEvent, without, withRole } from "@/lib/members";
import { reloadTo } from "@/lib/nav";
import type { BoardClient } from "@/realtime/board";
import type { InviteRole, Member, Presence, Role, User } from "@/realtime/protocol";

/**
 * The board's members (any member may look): who, their role, who is online.
 * The owner changes a role or removes someone; anyone else can leave. Every
 * change shows at once and goes back, with a message, if the server refuses;
 * `member.*` events keep the list live in every tab.
 */
export function MembersPanel({
  boardId,
  user,
  role,
  presence,
  client,
}: {
  boardId: string;
  user: User;
  /** The signed-in user's role on this board. */
  role: Role;
  presence: Presence[];
  client: BoardClient | null;
}) {
  const toast = useToast();
  const { open, toggle, buttonRef, panelRef } = usePopover();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // The list the latest event or answer left, for the callbacks below (no stale closure).
  const current = useRef<Member[] | null>(null);
  const set = useCallback((list: Member[] | null) => {
    current.current = list;
    setMembers(list);
  }, []);

  const load = useCallback(() => {
    api.members(boardId).then(
      (r) => set(r.members),
      (e: ApiError) => setError(e.message),
    );
  }, [boardId, set]);

  // Live: every tab's list follows the board's member events (loaded or not yet, nothing is missed on open).
  useEffect(() => {
    if (!client) return;
    return client.memberEvents.on((ev) => {
      if (current.current) set(applyMemberEvent(current.current, ev));
    });
  }, [client, set]);

  const isOwner = role === "owner";
  const online = new Set(presence.map((p) => p.user.id));

  const change = async (m: Member, next: InviteRole) => {
    const before = current.current;
    if (!before || m.role === next) return;
    setError(null);
    set(withRole(before, m.user.id, next));
    setBusy(m.user.id);
    try {
      await api.setRole(boardId, m.user.id, next);
      toast(`${m.user.username} is now ${next === "editor" ? "an editor" : "a viewer"}`);
    } catch (e) {
      // Back to the role the server still has (a live event may have changed other rows meanwhile).
      set(withRole(current.current ?? before, m.user.id, m.role));
      setError(`Couldn't change ${m.user.username}'s role: ${(e as ApiError).message}`);
    } finally {
      setBusy(null);
    }
  };

  const remove = async (m: Member) => {
    const before = current.current;
    if (!before) return;
    if (!window.confirm(`Remove ${m.user.username} from this board? They lose access at once.`)) return;
    setError(null);
    set(without(before, m.user.id));
    setBusy(m.user.id);
    try {
      await api.removeMember(boardId, m.user.id);
      toast(`Removed ${m.user.username}`);
    } catch (e) {
      const now = current.current ?? [];
      if (!now.some((x) => x.user.id === m.user.id)) {
        const at = before.findIndex((x) => x.user.id === m.user.id);
        const back = [...now];
        back.splice(Math.min(at, back.length), 0, m);
        set(back);
      }
      setError(`Couldn't remove ${m.user.username}: ${(e as ApiError).message}`);
    } finally {
      setBusy(null);
    }
  };

  const leave = async () => {
    if (!window.confirm("Leave this board? You will need a new invite to come back.")) return;
    setError(null);
    setBusy(user.id);
    try {
      await api.removeMember(boardId, user.id);
      reloadTo("/boards/");
    } catch (e) {
      setError(`Couldn't leave the board: ${(e as ApiError).message}`);
      setBusy(null);
    }
  };

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
        Members
      </PanelButton>
      {open && (
        <div
          ref={panelRef}
          role="dialog"
          aria-label="Members"
          className="absolute right-0 top-10 z-40 w-80 rounded-xl border border-stone-200 bg-white p-3 text-sm shadow-xl max-sm:fixed max-sm:inset-x-3 max-sm:top-auto max-sm:mt-2 max-sm:w-auto dark:border-stone-800 dark:bg-stone-900"
        >
          <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-stone-500 dark:text-stone-400">Members</h2>
          {error && (
            <p role="alert" className="mb-2 rounded-md bg-red-50 px-2 py-1.5 text-xs text-red-700 dark:bg-red-950 dark:text-red-300">
              {error}
            </p>
          )}
          {members === null ? (
            <p className="flex items-center gap-2 text-xs text-stone-500 dark:text-stone-400">
              <Spinner /> Loading…
            </p>
          ) : (
            <ul className="flex max-h-72 flex-col gap-1 overflow-y-auto" aria-label="Board members">
              {members.map((m) => {
                const me = m.user.id === user.id;
                const isOn = online.has(m.user.id) || me;
                return (
                  <li key={m.user.id} className="flex items-center gap-2 py-1" data-testid="member-row" data-username={m.user.username}>
                    <span className="relative">
                      <Avatar id={m.user.id} name={m.user.username} size="sm" />
                      <span
                        className={`absolute -bottom-0.5 -right-0.5 h-2.5 w-2.5 rounded-full ring-2 ring-white dark:ring-stone-900 ${
                          isOn ? "bg-emerald-500" : "bg-stone-300 dark:bg-stone-600"
                        }`}
                        aria-hidden="true"
                      />
                    </span>
                    <span className="min-w-0 flex-1">
                      <span className="block truncate font-medium">
                        {m.user.username}
                        {me && <span className="font-normal text-stone-500 dark:text-stone-400"> (you)</span>}
                      </span>
                      <span className="block text-xs text-stone-500 dark:text-stone-400">{isOn ? "Online" : "Offline"}</span>
                    </span>
                    {isOwner && m.role !== "owner" ? (
                      <>
                        <select
                          aria-label={`Role of ${m.user.username}`}
                          value={m.role}
                          disabled={busy === m.user.id}
                          onChange={(e) => void change(m, e.target.value as InviteRole)}
                          className="h-8 rounded-md border border-stone-300 bg-white px-1.5 text-xs dark:border-stone-700 dark:bg-stone-900"
                        >
                          <option value="editor">Editor</option>
                          <option value="viewer">Viewer</option>
                        </select>
                        <button
                          type="button"
                          aria-label={`Remove ${m.user.username}`}
                          title={`Remove ${m.user.username}`}
                          disabled={busy === m.user.id}
                          onClick={() => void remove(m)}
                          className="h-8 rounded-md px-2 text-xs font-medium text-red-600 hover:bg-red-50 disabled:opacity-50 dark:text-red-400 dark:hover:bg-red-950"
                        >
                          Remove
                        </button>
                      </>
                    ) : (
                      <span className="rounded-full bg-stone-100 px-2 py-0.5 text-xs font-medium capitalize text-stone-700 dark:bg-stone-800 dark:text-stone-300">
                        {m.role}
                      </span>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          {!isOwner && (
            <div className="mt-2 border-t border-stone-200 pt-2 dark:border-stone-800">
              <button
                type="button"
                disabled={busy === user.id}
                onClick={() => void leave()}
                className="w-full rounded-lg px-3 py-2 text-left font-medium text-red-600 hover:bg-red-50 disabled:opacity-50 dark:text-red-400 dark:hover:bg-red-950"
              >
                Leave board
              </button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
