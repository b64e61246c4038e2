"use client";
import type { ReactNode, RefObject } from "react";

/**
 * The toolbar button that opens one of the board's panels (Members, Share):
 * opening it clears the panel's last error and reloads its contents, so what
 * the panel shows is current each time it opens.
 */
export function PanelButton({
  buttonRef,
  open,
  toggle,
  onOpen,
  children,
}: {
  /** From `usePopover`: focus returns here when the panel closes. */
  buttonRef: RefObject<HTMLButtonElement | null>;
  open: boolean;
  toggle(): void;
  /** Runs just before the panel opens. */
  onOpen(): void;
  children: ReactNode;
}) {
  return (
    <button
      ref={buttonRef}
      type="button"
      aria-expanded={open}
      aria-haspopup="dialog"
      onClick={() => {
        if (!open) onOpen();
        toggle();
      }}
      className="inline-flex h-8 items-center rounded-lg px-2.5 text-sm font-medium ring-1 ring-stone-300 hover:bg-stone-50 dark:ring-stone-700 dark:hover:bg-stone-800"
    >
      {children}
    </button>
  );
}
