"use client";
import { useEffect, useRef } from "react";

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Makes a dialog modal for the keyboard: on mount focus moves into `panel`
 * (its `[data-autofocus]` element, else the first focusable one), Tab and
 * Shift+Tab cycle inside it, Escape calls `onEscape`, and on unmount focus goes
 * back to what had it before (the note being edited). Keys never reach the
 * page behind (its shortcuts: undo, Delete, Escape). Returns the panel's
 * `onKeyDown`.
 */
export function useModalFocus(
  panel: React.RefObject<HTMLElement | null>,
  onEscape: () => void,
): (e: React.KeyboardEvent) => void {
  const onEscapeRef = useRef(onEscape);
  useEffect(() => {
    onEscapeRef.current = onEscape;
  });

  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const el = panel.current;
    const first = el?.querySelector<HTMLElement>("[data-autofocus]") ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, [panel]);

  return (e) => {
    e.stopPropagation();
    if (e.key === "Escape") {
      e.preventDefault();
      onEscapeRef.current();
    } else if (e.key === "Tab") {
      const items = [...(panel.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
      if (items.length === 0) return;
      const i = items.indexOf(document.activeElement as HTMLElement);
      const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : i === items.length - 1 ? 0 : i + 1;
      e.preventDefault();
      items[next].focus();
    }
  };
}
