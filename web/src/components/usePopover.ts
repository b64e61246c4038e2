"use client";
import { useCallback, useEffect, useId, useRef, useState } from "react";

/** Fired on `document` when a popover opens, so every other one closes (one open at a time). */
const OPENED = "corkboard:popover-opened";

/** What a menu button and its panel need: state, refs, and the open/close actions. */
export interface Popover {
  open: boolean;
  /** Opens or closes; opening closes every other popover on the page. */
  toggle(): void;
  buttonRef: React.RefObject<HTMLButtonElement | null>;
  panelRef: React.RefObject<HTMLDivElement | null>;
}

/**
 * A header menu or popover that behaves like one: it closes on a pointer down
 * outside it and on Escape (focus back to its button), and opening it closes
 * any other, so on a narrow screen two panels never stack over each other.
 */
export function usePopover(): Popover {
  const id = useId();
  const [open, setOpen] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);

  const close = useCallback(() => {
    setOpen(false);
    buttonRef.current?.focus();
  }, []);

  const toggle = useCallback(() => {
    if (!open) document.dispatchEvent(new CustomEvent(OPENED, { detail: id }));
    setOpen(!open);
  }, [open, id]);

  useEffect(() => {
    const onOther = (e: Event) => {
      if ((e as CustomEvent<string>).detail !== id) setOpen(false);
    };
    document.addEventListener(OPENED, onOther);
    return () => document.removeEventListener(OPENED, onOther);
  }, [id]);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!panelRef.current?.contains(t) && !buttonRef.current?.contains(t)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") close();
    };
    document.addEventListener("pointerdown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open, close]);

  return { open, toggle, buttonRef, panelRef };
}
