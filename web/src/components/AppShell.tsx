"use client";
import Link from "next/link";
import { useEffect } from "react";
import { shutdownRealtime, useConnectionState } from "@/hooks/realtime";
import { api } from "@/lib/api";
import { forgetUser } from "@/lib/identity";
import { goToLogin } from "@/lib/nav";
import type { User } from "@/realtime/protocol";
import { ConnectionStatus } from "./ConnectionStatus";
import { NotificationsButton } from "./Notifications";
import { SessionProvider, useSession } from "./session";
import { ThemeChoice } from "./ThemeChoice";
import { ToastProvider } from "./toasts";
import { Avatar, Logo, Spinner } from "./ui";
import { usePopover } from "./usePopover";

/** The avatar button and its menu (who is signed in, account page, sign out). */
function AccountMenu({ user, onSignOut }: { user: User; onSignOut(): Promise<void> }) {
  const { open, toggle, buttonRef, panelRef } = usePopover();
  return (
    <div className="relative">
      <button
        ref={buttonRef}
        type="button"
        onClick={toggle}
        aria-label="Account"
        aria-expanded={open}
        aria-haspopup="true"
        className="flex rounded-full"
      >
        <Avatar id={user.id} name={user.username} decorative />
      </button>
      {open && (
        <div
          ref={panelRef}
          role="group"
          aria-label="Account menu"
          className="absolute right-0 top-11 z-40 w-56 rounded-xl border border-stone-200 bg-white p-1 text-sm shadow-xl dark:border-stone-800 dark:bg-stone-900"
        >
          <p className="truncate px-3 py-2 text-stone-500 dark:text-stone-400">
            Signed in as <strong className="text-stone-900 dark:text-stone-100">{user.username}</strong>
          </p>
          <Link
            href="/account/"
            className="block w-full rounded-lg px-3 py-2 text-left hover:bg-stone-100 dark:hover:bg-stone-800"
          >
            Account &amp; sessions
          </Link>
          <div className="px-3 py-2">
            <p className="mb-1 text-xs text-stone-600 dark:text-stone-400">Theme</p>
            <ThemeChoice />
          </div>
          <button
            type="button"
            onClick={onSignOut}
            className="w-full rounded-lg px-3 py-2 text-left hover:bg-stone-100 dark:hover:bg-stone-800"
          >
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}

function Header({ user, children }: { user: User; children?: React.ReactNode }) {
  const { conn } = useConnectionState();
  useEffect(() => {
    if (conn.status === "unauthorized") {
      forgetUser();
      shutdownRealtime();
      goToLogin();
    }
  }, [conn.status]);

  const signOut = async () => {
    try {
      await api.logout();
    } finally {
      forgetUser();
      shutdownRealtime();
      window.location.replace("/login/");
    }
  };

  return (
    <header className="sticky top-0 z-30 border-b border-stone-200/80 bg-white/85 backdrop-blur dark:border-stone-800 dark:bg-stone-950/85">
      <div className="mx-auto flex h-14 max-w-[100rem] items-center gap-3 px-3 sm:px-5">
        <Link href="/boards/" className="shrink-0 text-stone-900 dark:text-stone-100" aria-label="Corkboard, all boards">
          <Logo />
        </Link>
        <div className="flex min-w-0 flex-1 items-center gap-3">{children}</div>
        <ConnectionStatus />
        <NotificationsButton />
        <AccountMenu user={user} onSignOut={signOut} />
      </div>
    </header>
  );
}

function Guard({
  children,
  header,
}: {
  children: (user: User) => React.ReactNode;
  header?: React.ReactNode;
}) {
  const { session } = useSession();
  useEffect(() => {
    if (session.status === "anonymous") goToLogin();
  }, [session.status]);
  if (session.status !== "signed-in") {
    return (
      <div className="flex h-dvh items-center justify-center text-stone-500 dark:text-stone-400">
        <Spinner className="mr-2" /> Loading…
      </div>
    );
  }
  return (
    <div className="flex h-dvh flex-col">
      <Header user={session.user}>{header}</Header>
      {children(session.user)}
    </div>
  );
}

/** The signed-in frame: session check, header (status, notifications, account), toasts. */
export function AppShell({
  children,
  header,
}: {
  children: (user: User) => React.ReactNode;
  header?: React.ReactNode;
}) {
  return (
    <SessionProvider>
      <ToastProvider>
        <Guard header={header}>{children}</Guard>
      </ToastProvider>
    </SessionProvider>
  );
}
