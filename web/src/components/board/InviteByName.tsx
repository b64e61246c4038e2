"use client";
import { useEffect, useId, useRef, useState } from "react";
import { Button } from "@/components/ui";
import { api, type ApiError } from "@/lib/api";
import { notMembers } from "@/lib/members";
import type { InviteRole, Member, User } from "@/realtime/protocol";

/** Suggestions are asked for this long after the last keystroke (ms). */
const SUGGEST_DELAY_MS = 150;

/**
 * "Invite by username": a combobox suggesting, as the owner types, people
 * they already share a board with (`GET /api/users/suggest`) who are not
 * members here; arrow keys move, Enter picks (or sends when the list is
 * closed), Escape closes the list. The invite names the user, who gets an
 * `invited` notification, with the role chosen beside it.
 */
export function InviteByName({
  members,
  onInvite,
}: {
  /** The board's members (excluded from the suggestions); null while loading. */
  members: Member[] | null;
  onInvite(username: string, role: InviteRole): Promise<boolean>;
}) {
  const id = useId();
  const [text, setText] = useState("");
  const [role, setRole] = useState<InviteRole>("editor");
  // The suggestions with the text they answer: stale ones (for an older text) are not shown.
  const [found, setFound] = useState<{ q: string; users: User[] }>({ q: "", users: [] });
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  const q = text.trim();
  useEffect(() => {
    if (!q || q.length > 64) return;
    const abort = new AbortController();
    const t = setTimeout(() => {
      api.suggestUsers(q, abort.signal).then(
        (r) => {
          setFound({ q, users: r.users });
          setActive(-1);
        },
        (e: ApiError) => {
          if (!abort.signal.aborted) setError(e.message);
        },
      );
    }, SUGGEST_DELAY_MS);
    return () => {
      clearTimeout(t);
      abort.abort();
    };
  }, [q]);

  const options = found.q === q ? notMembers(found.users, members) : [];
  const listOpen = open && q.length > 0 && options.length > 0;
  const listId = `${id}-list`;
  const optionId = (i: number) => `${id}-opt-${i}`;

  const pick = (u: User) => {
    setText(u.username);
    setOpen(false);
    setActive(-1);
    inputRef.current?.focus();
  };

  const send = async () => {
    const name = text.trim();
    if (!name) {
      setError("Type a username.");
      return;
    }
    if (members?.some((m) => m.user.username === name.toLowerCase())) {
      setError(`${name} is already a member.`);
      return;
    }
    setError(null);
    setSending(true);
    const ok = await onInvite(name, role);
    setSending(false);
    if (ok) {
      setText("");
    }
  };

  return (
    <form
      className="flex flex-col gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label htmlFor={`${id}-input`} className="text-xs font-semibold uppercase tracking-wide text-stone-500 dark:text-stone-400">
        Invite by username
      </label>
      <div className="relative">
        <input
          ref={inputRef}
          id={`${id}-input`}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={listOpen}
          aria-controls={listId}
          aria-activedescendant={listOpen && active >= 0 ? optionId(active) : undefined}
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          placeholder="username"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
            setError(null);
          }}
          onFocus={() => setOpen(true)}
          onBlur={() => setOpen(false)}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              setOpen(true);
              if (options.length === 0) return;
              const step = e.key === "ArrowDown" ? 1 : -1;
              setActive((a) => (a < 0 && step < 0 ? options.length - 1 : (a + step + options.length) % options.length));
            } else if (e.key === "Enter" && listOpen && active >= 0 && options[active]) {
              e.preventDefault();
              pick(options[active]);
            } else if (e.key === "Escape" && listOpen) {
              // Closes the list only; the next Escape closes the panel.
              e.preventDefault();
              e.stopPropagation();
              setOpen(false);
            }
          }}
          className="h-9 w-full rounded-lg border border-stone-300 bg-white px-2.5 text-sm outline-none focus:border-brand-500 focus:ring-2 focus:ring-brand-500/30 dark:border-stone-700 dark:bg-stone-950"
        />
        {listOpen && (
          <ul
            id={listId}
            role="listbox"
            aria-label="Suggestions"
            className="absolute inset-x-0 top-10 z-50 max-h-48 overflow-y-auto rounded-lg border border-stone-200 bg-white py-1 shadow-lg dark:border-stone-700 dark:bg-stone-900"
          >
            {options.map((u, i) => (
              <li
                key={u.id}
                id={optionId(i)}
                role="option"
                aria-selected={i === active}
                // Chosen on pointer down, before the input's blur closes the list.
                onPointerDown={(e) => {
                  e.preventDefault();
                  pick(u);
                }}
                className={`cursor-pointer px-3 py-1.5 ${i === active ? "bg-brand-100 dark:bg-brand-900/50" : "hover:bg-stone-100 dark:hover:bg-stone-800"}`}
              >
                {u.username}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="flex gap-2">
        <select
          aria-label="Role for the invited user"
          value={role}
          onChange={(e) => setRole(e.target.value as InviteRole)}
          className="h-8 flex-1 rounded-md border border-stone-300 bg-white px-1.5 text-sm dark:border-stone-700 dark:bg-stone-900"
        >
          <option value="editor">as editor</option>
          <option value="viewer">as viewer</option>
        </select>
        <Button type="submit" size="sm" variant="primary" disabled={sending}>
          Send invite
        </Button>
      </div>
      {error && (
        <p role="alert" className="text-xs text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </form>
  );
}
