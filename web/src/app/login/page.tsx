"use client";
import { useEffect, useRef, useState } from "react";
import { api, ApiError } from "@/lib/api";
import { safeNext } from "@/lib/safeNext";
import { Button, Input, Logo, Spinner } from "@/components/ui";

type FieldErrors = { username?: string; password?: string; form?: string };

function nextPath(): string {
  const next = new URLSearchParams(window.location.search).get("next");
  return safeNext(next, window.location.origin);
}

function localCheck(username: string, password: string, signup: boolean): FieldErrors {
  const e: FieldErrors = {};
  if (!username.trim()) e.username = "Enter a username.";
  else if (signup && !/^[a-z0-9_.-]{3,32}$/i.test(username.trim()))
    e.username = "3–32 characters: letters, digits, “_”, “.” or “-”.";
  if (!password) e.password = "Enter a password.";
  else if (signup && [...password].length < 8) e.password = "At least 8 characters.";
  return e;
}

export default function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState<"signin" | "signup" | null>(null);
  const userRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = "Sign in · Corkboard";
    api.me().then(
      () => window.location.replace(nextPath()),
      () => undefined,
    );
  }, []);

  const submit = async (mode: "signin" | "signup") => {
    const local = localCheck(username, password, mode === "signup");
    setErrors(local);
    if (local.username || local.password) return;
    setBusy(mode);
    try {
      if (mode === "signup") await api.signup(username.trim(), password);
      else await api.login(username.trim(), password);
      window.location.replace(nextPath());
    } catch (e) {
      const err = e as ApiError;
      const field = err.details?.field;
      const msg = err.message || "Something went wrong.";
      if (mode === "signin" && err.code === "unauthorized") {
        setErrors({ password: "Wrong username or password." });
      } else if (err.code === "conflict") {
        setErrors({ username: "That username is taken." });
      } else if (field === "username" || field === "password") {
        setErrors({ [field]: msg });
      } else if (err.code === "rate_limited") {
        setErrors({ form: "Too many attempts. Wait a minute and try again." });
      } else {
        setErrors({ form: msg });
      }
      setBusy(null);
    }
  };

  return (
    <main className="flex min-h-dvh flex-col lg:flex-row">
      <section className="relative hidden flex-1 overflow-hidden bg-gradient-to-br from-brand-100 via-amber-50 to-rose-100 p-12 lg:flex lg:flex-col lg:justify-between dark:from-stone-900 dark:via-stone-900 dark:to-stone-800">
        <Logo className="text-xl" />
        <div className="relative h-80">
          {[
            { c: "bg-yellow-200", r: "-rotate-6", t: "Ship the beta 🚀", p: "left-4 top-6" },
            { c: "bg-pink-200", r: "rotate-3", t: "@sam can you review the copy?", p: "left-52 top-0" },
            { c: "bg-sky-200", r: "-rotate-2", t: "Retro on Friday", p: "left-24 top-40" },
            { c: "bg-emerald-200", r: "rotate-6", t: "Ideas → board", p: "left-72 top-36" },
          ].map((n) => (
            <div
              key={n.t}
              aria-hidden="true"
              className={`absolute ${n.p} ${n.c} ${n.r} h-32 w-44 rounded-md p-4 text-stone-800 shadow-lg`}
              style={{ fontFamily: "var(--font-note)" }}
            >
              {n.t}
            </div>
          ))}
        </div>
        <p className="max-w-md text-2xl font-semibold leading-snug text-stone-800 dark:text-stone-100">
          Think out loud, together. Sticky notes that show up for everyone the moment you write them.
        </p>
      </section>
      <section className="flex flex-1 items-center justify-center px-6 py-16">
        <form
          className="w-full max-w-sm"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit("signin");
          }}
        >
          <Logo className="mb-8 text-xl lg:hidden" />
          <h1 className="text-2xl font-semibold tracking-tight">Welcome to Corkboard</h1>
          <p className="mt-1 text-sm text-stone-500 dark:text-stone-400">Sign in, or pick a username to create an account.</p>

          <div className="mt-8 space-y-5">
            <div>
              <label htmlFor="username" className="mb-1.5 block text-sm font-medium">
                Username
              </label>
              <Input
                id="username"
                ref={userRef}
                name="username"
                autoComplete="username"
                autoCapitalize="none"
                spellCheck={false}
                value={username}
                invalid={!!errors.username}
                aria-describedby={errors.username ? "username-error" : undefined}
                onChange={(e) => setUsername(e.target.value)}
                autoFocus
              />
              {errors.username && (
                <p id="username-error" className="mt-1.5 text-sm text-red-600 dark:text-red-400">
                  {errors.username}
                </p>
              )}
            </div>
            <div>
              <label htmlFor="password" className="mb-1.5 block text-sm font-medium">
                Password
              </label>
              <Input
                id="password"
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                invalid={!!errors.password}
                aria-describedby={errors.password ? "password-error" : undefined}
                onChange={(e) => setPassword(e.target.value)}
              />
              {errors.password && (
                <p id="password-error" className="mt-1.5 text-sm text-red-600 dark:text-red-400">
                  {errors.password}
                </p>
              )}
            </div>
          </div>

          {errors.form && (
            <p role="alert" className="mt-5 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950/50 dark:text-red-300">
              {errors.form}
            </p>
          )}

          <div className="mt-8 flex flex-col gap-3 sm:flex-row">
            <Button type="submit" variant="primary" className="flex-1" disabled={busy !== null}>
              {busy === "signin" && <Spinner />}
              Sign in
            </Button>
            <Button variant="secondary" className="flex-1" disabled={busy !== null} onClick={() => void submit("signup")}>
              {busy === "signup" && <Spinner />}
              Sign up
            </Button>
          </div>
        </form>
      </section>
    </main>
  );
}
