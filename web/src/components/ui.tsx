"use client";
import { forwardRef, type ButtonHTMLAttributes, type InputHTMLAttributes } from "react";

type Variant = "primary" | "secondary" | "ghost" | "danger";

const variants: Record<Variant, string> = {
  primary:
    "bg-brand-700 text-white shadow-sm hover:bg-brand-800 focus-visible:outline-brand-500 disabled:bg-brand-700/60",
  secondary:
    "bg-white text-stone-800 ring-1 ring-stone-300 shadow-sm hover:bg-stone-50 dark:bg-stone-800 dark:text-stone-100 dark:ring-stone-700 dark:hover:bg-stone-700",
  ghost: "text-stone-700 hover:bg-stone-200/70 dark:text-stone-300 dark:hover:bg-stone-800",
  danger: "bg-red-600 text-white shadow-sm hover:bg-red-700 focus-visible:outline-red-600",
};

export const Button = forwardRef<
  HTMLButtonElement,
  ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: "sm" | "md" }
>(function Button({ variant = "secondary", size = "md", className = "", type = "button", ...rest }, ref) {
  const sz = size === "sm" ? "h-8 px-2.5 text-sm gap-1.5" : "h-10 px-4 text-sm gap-2";
  return (
    <button
      ref={ref}
      type={type}
      className={`inline-flex items-center justify-center rounded-lg font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed disabled:opacity-60 ${sz} ${variants[variant]} ${className}`}
      {...rest}
    />
  );
});

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement> & { invalid?: boolean }>(
  function Input({ className = "", invalid, ...rest }, ref) {
    return (
      <input
        ref={ref}
        aria-invalid={invalid || undefined}
        className={`block h-10 w-full rounded-lg border bg-white px-3 text-sm text-stone-900 shadow-sm outline-none transition placeholder:text-stone-400 focus:ring-2 dark:bg-stone-900 dark:text-stone-100 ${
          invalid
            ? "border-red-500 focus:ring-red-500/30"
            : "border-stone-300 focus:border-brand-500 focus:ring-brand-500/25 dark:border-stone-700"
        } ${className}`}
        {...rest}
      />
    );
  },
);

export function Spinner({ className = "" }: { className?: string }) {
  return (
    <svg className={`h-4 w-4 animate-spin ${className}`} viewBox="0 0 24 24" fill="none" aria-hidden="true">
      <circle cx="12" cy="12" r="10" stroke="currentColor" strokeOpacity="0.25" strokeWidth="4" />
      <path d="M22 12a10 10 0 0 0-10-10" stroke="currentColor" strokeWidth="4" strokeLinecap="round" />
    </svg>
  );
}

const avatarColors = [
  "bg-rose-600",
  "bg-amber-700",
  "bg-emerald-700",
  "bg-sky-700",
  "bg-violet-600",
  "bg-fuchsia-700",
  "bg-teal-700",
  "bg-orange-700",
];

export function userHue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h;
}

export function avatarColor(id: string): string {
  return avatarColors[userHue(id) % avatarColors.length];
}

/** The same colours as `avatarColors`, as RGB (for carets and selection highlights). */
// Dark enough for white text (initials, cursor names) at 4.5:1 or more.
const avatarRgbs = ["225 29 72", "180 83 9", "4 120 87", "3 105 161", "124 58 237", "162 28 175", "15 118 110", "194 65 12"];

/** `rgb(… / alpha)` of a user's colour. */
export function avatarRgb(id: string, alpha = 1): string {
  return `rgb(${avatarRgbs[userHue(id) % avatarRgbs.length]} / ${alpha})`;
}

/**
 * A round avatar whose accessible name is the username. `decorative`: inside
 * a control that names itself (the Account button), the initials are drawn
 * by CSS, so they are not text that the control's name must contain.
 */
export function Avatar({ id, name, size = "md", decorative = false }: { id: string; name: string; size?: "sm" | "md"; decorative?: boolean }) {
  const s = size === "sm" ? "h-7 w-7 text-xs" : "h-8 w-8 text-sm";
  const cls = `inline-flex shrink-0 select-none items-center justify-center overflow-hidden rounded-full font-semibold uppercase leading-none tracking-tight text-white ring-2 ring-white dark:ring-stone-900 ${s} ${avatarColor(id)}`;
  if (decorative) {
    return <span aria-hidden="true" data-initials={name.slice(0, 2)} className={`${cls} before:content-[attr(data-initials)]`} />;
  }
  return (
    <span role="img" aria-label={name} title={name} className={cls}>
      {name.slice(0, 2)}
    </span>
  );
}

export function Logo({ className = "" }: { className?: string }) {
  return (
    <span className={`inline-flex items-center gap-2 font-semibold tracking-tight ${className}`}>
      <svg viewBox="0 0 32 32" className="h-7 w-7" aria-hidden="true">
        <rect x="3" y="5" width="22" height="22" rx="3" fill="#f9a83a" transform="rotate(-6 14 16)" />
        <rect x="8" y="4" width="20" height="20" rx="3" fill="#fde68a" stroke="#d76a0b" strokeWidth="1.5" />
        <circle cx="18" cy="8" r="2.2" fill="#dc2626" />
      </svg>
      <span>Corkboard</span>
    </span>
  );
}
