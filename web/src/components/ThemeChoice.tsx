"use client";
import { useEffect, useState } from "react";
import { setTheme, storedTheme, watchSystemTheme, type ThemeChoice as Choice } from "@/lib/theme";

const CHOICES: { value: Choice; label: string }[] = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

/** System / Light / Dark, kept per user on this browser and applied at once. */
export function ThemeChoice({ className = "" }: { className?: string }) {
  // Shown only in menus opened on the client: the stored choice is known at the first render.
  const [choice, setChoice] = useState<Choice>(() => (typeof window === "undefined" ? "system" : storedTheme()));
  useEffect(() => watchSystemTheme(), []);
  return (
    <div role="radiogroup" aria-label="Theme" className={`flex rounded-lg bg-stone-100 p-0.5 dark:bg-stone-800 ${className}`}>
      {CHOICES.map((c) => (
        <button
          key={c.value}
          type="button"
          role="radio"
          aria-checked={choice === c.value}
          onClick={() => {
            setTheme(c.value);
            setChoice(c.value);
          }}
          className={`flex-1 rounded-md px-2 py-1 text-xs font-medium ${
            choice === c.value
              ? "bg-white text-stone-900 shadow-sm dark:bg-stone-600 dark:text-white"
              : "text-stone-700 hover:text-stone-900 dark:text-stone-300 dark:hover:text-white"
          }`}
        >
          {c.label}
        </button>
      ))}
    </div>
  );
}

/** Keeps the page in step with the OS setting while the choice is "System" (mounted once, in the layout). */
export function ThemeWatcher() {
  useEffect(() => watchSystemTheme(), []);
  return null;
}
