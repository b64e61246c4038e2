-- Sessions expire server-side (--session-idle-timeout, --session-max-age):
-- last_used_at is when the session last authenticated a request, written
-- at most about once a minute per session; user_agent and ip are what the
-- session was opened with, shown in the user's list of sessions.
ALTER TABLE credentials ADD COLUMN last_used_at INTEGER;
ALTER TABLE credentials ADD COLUMN user_agent TEXT;
ALTER TABLE credentials ADD COLUMN ip TEXT;
UPDATE credentials SET last_used_at = created_at;
-- The expiry sweep scans the live sessions.
CREATE INDEX credentials_live_sessions ON credentials(kind, revoked_at);
