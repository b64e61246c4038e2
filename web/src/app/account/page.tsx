"use client";
import { useCallback, useEffect, useState } from "react";
import { AppShell } from "@/components/AppShell";
import { useToast } from "@/components/toasts";
import { Button, Input, Spinner } from "@/components/ui";
import { shutdownRealtime } from "@/hooks/realtime";
import { api, ApiError, type NewToken, type TokenInfo } from "@/lib/api";
import { reloadTo } from "@/lib/nav";
import {
  checkPasswordChange,
  describeAgent,
  sortSessions,
  type PasswordErrors,
  type SessionInfo,
} from "@/lib/sessions";

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** Leaves for the sign-in page after this browser's own session ended. */
function signedOut() {
  shutdownRealtime();
  reloadTo("/login/");
}

function SessionRow({ s, onRevoke }: { s: SessionInfo; onRevoke: (s: SessionInfo) => void }) {
  return (
    <li className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between" data-session={s.id}>
      <div className="min-w-0">
        <p className="font-medium">
          {describeAgent(s.user_agent)}
          {s.current && (
            <span className="ml-2 rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200">
              This browser
            </span>
          )}
        </p>
        <p className="text-xs text-stone-500 dark:text-stone-400">
          {s.ip ? `${s.ip} · ` : ""}signed in {when(s.created_at)} · last active {when(s.last_used_at)} · ends{" "}
          {when(s.expires_at)}
        </p>
      </div>
      <Button size="sm" variant="secondary" onClick={() => onRevoke(s)}>
        Sign out
      </Button>
    </li>
  );
}

function Sessions() {
  const toast = useToast();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.sessions().then(
      (r) => setSessions(sortSessions(r.sessions)),
      (e: ApiError) => setError(e.message),
    );
  }, []);
  useEffect(load, [load]);

  const revoke = async (s: SessionInfo) => {
    try {
      await api.revokeSession(s.id);
      if (s.current) return signedOut();
      toast("Signed that session out");
      load();
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  };
  const revokeOthers = async () => {
    try {
      const { revoked } = await api.revokeOtherSessions();
      toast(revoked === 1 ? "Signed out 1 other session" : `Signed out ${revoked} other sessions`);
      load();
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  };
  const revokeAll = async () => {
    if (!window.confirm("Sign out everywhere, this browser included?")) return;
    try {
      await api.logoutAll();
    } finally {
      signedOut();
    }
  };

  const others = sessions?.filter((s) => !s.current).length ?? 0;
  return (
    <section aria-labelledby="sessions-h" className="rounded-2xl border border-stone-200 bg-white p-5 dark:border-stone-800 dark:bg-stone-900">
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
        <div>
          <h2 id="sessions-h" className="text-lg font-semibold">
            Where you are signed in
          </h2>
          <p className="text-sm text-stone-500 dark:text-stone-400">Sessions end on their own after a while without use.</p>
        </div>
        <div className="flex gap-2">
          <Button size="sm" variant="secondary" disabled={others === 0} onClick={() => void revokeOthers()}>
            Sign out everywhere else
          </Button>
          <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => void revokeAll()}>
            Sign out everywhere
          </Button>
        </div>
      </div>
      {error && (
        <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      {sessions === null ? (
        <div className="mt-6 flex justify-center text-stone-500 dark:text-stone-400">
          <Spinner />
        </div>
      ) : (
        <ul className="mt-3 divide-y divide-stone-100 dark:divide-stone-800" aria-label="Sessions">
          {sessions.map((s) => (
            <SessionRow key={s.id} s={s} onRevoke={(x) => void revoke(x)} />
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * API tokens for scripts and other non-browser clients (`Authorization:
 * Bearer …`): create one by name (its secret is shown once, with Copy),
 * list them, revoke one (its connections close at once).
 */
function Tokens() {
  const toast = useToast();
  const [tokens, setTokens] = useState<TokenInfo[] | null>(null);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<NewToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    api.tokens().then(
      (r) => setTokens(r.tokens),
      (e: ApiError) => setError(e.message),
    );
  }, []);
  useEffect(load, [load]);

  const create = async () => {
    const n = name.trim();
    if (!n) {
      setError("Give the token a name, e.g. what it is for.");
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const t = await api.createToken(n);
      setCreated(t);
      setName("");
      setTokens((list) => [...(list ?? []), { id: t.id, name: t.name, created_at: t.created_at }]);
    } catch (e) {
      setError((e as ApiError).message);
    } finally {
      setBusy(false);
    }
  };

  // Optimistic: the row goes at once and comes back if the server refuses.
  const revoke = async (t: TokenInfo) => {
    if (!window.confirm(`Revoke the token “${t.name}”? Anything using it stops working at once.`)) return;
    setError(null);
    setTokens((list) => list?.filter((x) => x.id !== t.id) ?? list);
    if (created?.id === t.id) setCreated(null);
    try {
      await api.revokeToken(t.id);
      toast(`Revoked “${t.name}”`);
    } catch (e) {
      setError(`Couldn't revoke “${t.name}”: ${(e as ApiError).message}`);
      load();
    }
  };

  const copySecret = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      toast("Token copied");
    } catch {
      window.prompt("Copy your token:", secret);
    }
  };

  return (
    <section aria-labelledby="tokens-h" className="rounded-2xl border border-stone-200 bg-white p-5 dark:border-stone-800 dark:bg-stone-900">
      <h2 id="tokens-h" className="text-lg font-semibold">
        API tokens
      </h2>
      <p className="text-sm text-stone-500 dark:text-stone-400">
        For scripts and other programs: send <code className="rounded bg-stone-100 px-1 text-stone-700 dark:bg-stone-800 dark:text-stone-200">Authorization: Bearer &lt;token&gt;</code>.
        A token acts as you on every board; it does not expire, and signing out does not end it.
      </p>
      <form
        className="mt-4 flex max-w-md gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <div className="flex-1">
          <label htmlFor="token-name" className="sr-only">
            Token name
          </label>
          <Input id="token-name" placeholder="Token name, e.g. backup script" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy && <Spinner />}
          Create token
        </Button>
      </form>
      {created && (
        <div role="status" data-testid="new-token" className="mt-4 rounded-xl border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950/60 dark:text-amber-100">
          <p className="font-medium">Copy your new token “{created.name}” now: it will not be shown again.</p>
          <div className="mt-2 flex gap-2">
            <label htmlFor="token-secret" className="sr-only">
              New token
            </label>
            <Input id="token-secret" readOnly value={created.token} className="font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
            <Button onClick={() => void copySecret(created.token)}>Copy</Button>
            <Button variant="ghost" onClick={() => setCreated(null)}>
              Done
            </Button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      {tokens === null ? (
        <div className="mt-6 flex justify-center text-stone-500 dark:text-stone-400">
          <Spinner />
        </div>
      ) : tokens.length === 0 ? (
        <p className="mt-4 text-sm text-stone-500 dark:text-stone-400">No API tokens.</p>
      ) : (
        <ul className="mt-3 divide-y divide-stone-100 dark:divide-stone-800" aria-label="API tokens">
          {tokens.map((t) => (
            <li key={t.id} data-token={t.id} className="flex items-center justify-between gap-3 py-3">
              <div className="min-w-0">
                <p className="truncate font-medium">{t.name}</p>
                <p className="text-xs text-stone-500 dark:text-stone-400">created {when(t.created_at)}</p>
              </div>
              <Button size="sm" variant="secondary" aria-label={`Revoke ${t.name}`} onClick={() => void revoke(t)}>
                Revoke
              </Button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function PasswordForm() {
  const toast = useToast();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<PasswordErrors & { form?: string }>({});
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const local = checkPasswordChange(current, next, confirm);
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      await api.changePassword(current, next);
      setCurrent("");
      setNext("");
      setConfirm("");
      toast("Password changed; your other sessions were signed out");
    } catch (e) {
      const err = e as ApiError;
      if (err.code === "forbidden") setErrors({ current: "That is not your current password." });
      else setErrors({ form: err.message });
    } finally {
      setBusy(false);
    }
  };

  const field = (
    id: string,
    label: string,
    value: string,
    set: (v: string) => void,
    error: string | undefined,
    autoComplete: string,
  ) => (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <Input
        id={id}
        type="password"
        autoComplete={autoComplete}
        value={value}
        invalid={!!error}
        aria-describedby={error ? `${id}-err` : undefined}
        onChange={(e) => set(e.target.value)}
      />
      {error && (
        <p id={`${id}-err`} className="mt-1 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );

  return (
    <section aria-labelledby="password-h" className="rounded-2xl border border-stone-200 bg-white p-5 dark:border-stone-800 dark:bg-stone-900">
      <h2 id="password-h" className="text-lg font-semibold">
        Change password
      </h2>
      <p className="text-sm text-stone-500 dark:text-stone-400">Every other session is signed out; this one stays. API tokens are kept.</p>
      <form
        className="mt-4 grid max-w-md gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {field("current-password", "Current password", current, setCurrent, errors.current, "current-password")}
        {field("new-password", "New password", next, setNext, errors.next, "new-password")}
        {field("confirm-password", "Repeat the new password", confirm, setConfirm, errors.confirm, "new-password")}
        {errors.form && (
          <p role="alert" className="text-sm text-red-600 dark:text-red-400">
            {errors.form}
          </p>
        )}
        <div>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy && <Spinner />}
            Change password
          </Button>
        </div>
      </form>
    </section>
  );
}

function Account() {
  useEffect(() => {
    document.title = "Account · Corkboard";
  }, []);
  return (
    <main className="flex-1 overflow-y-auto">
      <div className="mx-auto max-w-3xl space-y-6 px-4 py-8 sm:px-6">
        <h1 className="text-2xl font-semibold tracking-tight">Account</h1>
        <Sessions />
        <PasswordForm />
        <Tokens />
      </div>
    </main>
  );
}

export default function AccountPage() {
  return <AppShell>{() => <Account />}</AppShell>;
}
