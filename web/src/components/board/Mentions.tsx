"use client";
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { Avatar } from "@/components/ui";
import { insertMention, matchMembers, mentionAt, type MentionQuery } from "@/lib/mentions";

/** A board member who can be mentioned. */
export interface MentionCandidate {
  id: string;
  username: string;
}

interface Open {
  q: MentionQuery;
  caret: number;
  items: MentionCandidate[];
  active: number;
}

/** What the note editor needs of the autocomplete: call `update` after input/caret moves, give it keys first. */
export interface Mentions {
  open: Open | null;
  listId: string;
  optionId(i: number): string;
  /** Re-reads the text at the caret: opens, filters or closes the list. */
  update(): void;
  /** Arrow keys, Enter/Tab (insert) and Escape (close) while the list is open; true when handled. */
  onKeyDown(e: React.KeyboardEvent): boolean;
  choose(i: number): void;
  close(): void;
}

/**
 * @mention autocomplete for a textarea: typing `@` lists the board's members
 * (filtered as one types); ↑/↓ choose, Enter or Tab insert `@username `,
 * Escape closes. `apply` writes the new text and caret (the editor sends it
 * through its collaborative binding).
 */
export function useMentions(
  ref: React.RefObject<HTMLTextAreaElement | null>,
  load: () => Promise<MentionCandidate[]>,
  apply: (text: string, caret: number) => void,
): Mentions {
  const [open, setOpen] = useState<Open | null>(null);
  const alive = useRef(true);
  const listId = useId();
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const update = useCallback(() => {
    const el = ref.current;
    if (!el || el.selectionStart !== el.selectionEnd) return setOpen(null);
    const caret = el.selectionStart ?? 0;
    const q = mentionAt(el.value, caret);
    if (!q) return setOpen(null);
    void load().then(
      (members) => {
        const now = ref.current;
        if (!alive.current || !now || now.selectionStart !== caret || now.value !== el.value) return;
        const items = matchMembers(members, q.query, undefined);
        setOpen((prev) =>
          items.length === 0
            ? null
            : { q, caret, items, active: prev && prev.q.start === q.start ? Math.min(prev.active, items.length - 1) : 0 },
        );
      },
      () => undefined, // members unavailable (offline): no suggestions
    );
  }, [ref, load]);

  const choose = useCallback(
    (i: number) => {
      const el = ref.current;
      if (!open || !el) return;
      const m = open.items[i];
      if (!m) return;
      const r = insertMention(el.value, open.q, open.caret, m.username);
      setOpen(null);
      apply(r.text, r.caret);
    },
    [open, ref, apply],
  );

  const onKeyDown = (e: React.KeyboardEvent): boolean => {
    if (!open) return false;
    const n = open.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const d = e.key === "ArrowDown" ? 1 : -1;
      setOpen({ ...open, active: (open.active + d + n) % n });
      return true;
    }
    if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      choose(open.active);
      return true;
    }
    if (e.key === "Escape") {
      e.preventDefault();
      setOpen(null);
      return true;
    }
    return false;
  };

  return {
    open,
    listId,
    optionId: (i) => `${listId}-o${i}`,
    update,
    onKeyDown,
    choose,
    close: () => setOpen(null),
  };
}

/** The suggestion list under the note (a listbox; the textarea points at the active option). */
export function MentionMenu({ mentions, zoom }: { mentions: Mentions; zoom: number }) {
  const open = mentions.open;
  if (!open) return null;
  return (
    <ul
      id={mentions.listId}
      role="listbox"
      aria-label="Mention a board member"
      className="absolute left-0 top-full z-40 mt-1 w-56 overflow-hidden rounded-lg border border-stone-200 bg-white p-1 text-sm text-stone-900 shadow-xl dark:border-stone-700 dark:bg-stone-900 dark:text-stone-100"
      style={{ transform: `scale(${1 / zoom})`, transformOrigin: "top left" }}
      // Choosing with the pointer must not take focus from the editor (a blur ends editing).
      onMouseDown={(e) => e.preventDefault()}
      onPointerDown={(e) => e.stopPropagation()}
    >
      {open.items.map((m, i) => (
        <li
          key={m.id}
          id={mentions.optionId(i)}
          role="option"
          aria-selected={i === open.active}
          onClick={() => mentions.choose(i)}
          className={`flex cursor-pointer items-center gap-2 rounded-md px-2 py-1.5 ${
            i === open.active ? "bg-brand-100 text-stone-900 dark:bg-stone-700 dark:text-white" : "hover:bg-stone-100 dark:hover:bg-stone-800"
          }`}
        >
          <Avatar id={m.id} name={m.username} size="sm" decorative />
          <span className="truncate">@{m.username}</span>
        </li>
      ))}
    </ul>
  );
}
