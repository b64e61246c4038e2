//! Why a connection closes: one variant per cause, each with the WebSocket
//! close code the contract fixes for it and a short, fixed reason string.
//!
//! Several causes share a code (four different things close with 1013), and
//! a client or an operator reading a close frame or a log line needs to tell
//! them apart without parsing prose, so the reason is a stable identifier
//! rather than free text. The variants are a closed list on purpose: a new
//! cause is a new variant, a new row in the table of docs/protocol.md, and a
//! new case in the tests below. Details (an error message, a seq) go to the
//! log at the place that closes, never into the frame.
//!
//! The code tells a client what to do (resume with `since`, re-authenticate,
//! or stop); docs/protocol.md has the table of codes, reasons and causes.

/// Why an outbox (and so its connection) is closing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection, or its stream ended (1000).
    ClientClosed,
    /// The server is shutting down (1001).
    Shutdown,
    /// The client broke the WebSocket protocol (1002).
    ProtocolError,
    /// The client sent a binary frame; only text frames are accepted (1003).
    BinaryFrame,
    /// A text frame was not valid UTF-8 (1007).
    InvalidUtf8,
    /// More invalid messages than allowed in the window (1008).
    TooManyInvalidMessages,
    /// Over the rate limit for as many messages in a row as the burst (1008).
    RateLimited,
    /// SSE: the user lost access to the board (removed from it) (1008).
    AccessRevoked,
    /// SSE: the board was deleted (1008).
    BoardDeleted,
    /// SSE: the subscription could not start (no access, or the store failed) (1008).
    SubscribeFailed,
    /// SSE: replaying notifications from the store failed (1008).
    ReplayFailed,
    /// A message or frame over the size limit (1009).
    MessageTooBig,
    /// Reading from the socket failed for another reason (1011).
    ReadFailed,
    /// The outbound queue filled: the client reads slower than it is sent to (1013).
    OutboxFull,
    /// Live events held while a subscription replayed the log outgrew the
    /// outbox limit (1013).
    ReplayOverflow,
    /// The live events held during a replay do not follow the replayed seq (1013).
    ReplayGap,
    /// A live event skipped a seq, so the subscriber missed one (1013).
    EventGap,
    /// The hub's bus receiver lagged and missed events, so every subscriber
    /// resumes from the log (1013).
    HubLagged,
    /// A write to the client made no progress for the write timeout: it
    /// stopped reading (1013).
    WriteStalled,
    /// Nothing heard from the client for 2 × the heartbeat (4000).
    HeartbeatTimeout,
    /// The session or token the connection was opened with was revoked or
    /// logged out (4001).
    CredentialRevoked,
}

impl CloseReason {
    /// The WebSocket close code for this cause.
    pub fn ws_code(self) -> u16 {
        match self {
            CloseReason::ClientClosed => 1000,
            CloseReason::Shutdown => 1001,
            CloseReason::ProtocolError => 1002,
            CloseReason::BinaryFrame => 1003,
            CloseReason::InvalidUtf8 => 1007,
            CloseReason::TooManyInvalidMessages
            | CloseReason::RateLimited
            | CloseReason::AccessRevoked
            | CloseReason::BoardDeleted
            | CloseReason::SubscribeFailed
            | CloseReason::ReplayFailed => 1008,
            CloseReason::MessageTooBig => 1009,
            CloseReason::ReadFailed => 1011,
            CloseReason::OutboxFull
            | CloseReason::ReplayOverflow
            | CloseReason::ReplayGap
            | CloseReason::EventGap
            | CloseReason::HubLagged
            | CloseReason::WriteStalled => 1013,
            CloseReason::HeartbeatTimeout => 4000,
            CloseReason::CredentialRevoked => 4001,
        }
    }

    /// The reason string of the close frame (and of the log line on SSE).
    pub fn reason(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::Shutdown => "shutdown",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::BinaryFrame => "binary_frame",
            CloseReason::InvalidUtf8 => "invalid_utf8",
            CloseReason::TooManyInvalidMessages => "too_many_invalid_messages",
            CloseReason::RateLimited => "rate_limited",
            CloseReason::AccessRevoked => "access_revoked",
            CloseReason::BoardDeleted => "board_deleted",
            CloseReason::SubscribeFailed => "subscribe_failed",
            CloseReason::ReplayFailed => "replay_failed",
            CloseReason::MessageTooBig => "message_too_big",
            CloseReason::ReadFailed => "read_failed",
            CloseReason::OutboxFull => "outbox_full",
            CloseReason::ReplayOverflow => "replay_overflow",
            CloseReason::ReplayGap => "replay_gap",
            CloseReason::EventGap => "event_gap",
            CloseReason::HubLagged => "hub_lagged",
            CloseReason::WriteStalled => "write_stalled",
            CloseReason::HeartbeatTimeout => "heartbeat_timeout",
            CloseReason::CredentialRevoked => "credential_revoked",
        }
    }

    /// Whether the client fell behind (1013): what it was still to receive
    /// is dropped, since it resumes from its last seq anyway.
    pub fn is_overload(self) -> bool {
        self.ws_code() == 1013
    }
}

#[cfg(test)]
mod tests {
    use super::CloseReason::{self, *};
    use std::collections::HashSet;

    /// Every cause with the code the contract fixes for it. `ws_code` and
    /// `reason` match without a wildcard, so a new variant is caught there;
    /// this list then has to name it for the tests below to cover it.
    const ALL: [(CloseReason, u16); 21] = [
        (ClientClosed, 1000),
        (Shutdown, 1001),
        (ProtocolError, 1002),
        (BinaryFrame, 1003),
        (InvalidUtf8, 1007),
        (TooManyInvalidMessages, 1008),
        (RateLimited, 1008),
        (AccessRevoked, 1008),
        (BoardDeleted, 1008),
        (SubscribeFailed, 1008),
        (ReplayFailed, 1008),
        (MessageTooBig, 1009),
        (ReadFailed, 1011),
        (OutboxFull, 1013),
        (ReplayOverflow, 1013),
        (ReplayGap, 1013),
        (EventGap, 1013),
        (HubLagged, 1013),
        (WriteStalled, 1013),
        (HeartbeatTimeout, 4000),
        (CredentialRevoked, 4001),
    ];

    #[test]
    fn every_cause_has_its_own_reason() {
        let causes: HashSet<CloseReason> = ALL.iter().map(|(r, _)| *r).collect();
        assert_eq!(causes.len(), ALL.len(), "each cause listed once");
        let reasons: HashSet<&str> = ALL.iter().map(|(r, _)| r.reason()).collect();
        assert_eq!(reasons.len(), ALL.len(), "reasons are distinct");
        for (r, _) in ALL {
            let s = r.reason();
            // Short identifiers: they fit a close frame (at most 123 bytes) with room to spare.
            assert!(
                !s.is_empty()
                    && s.len() <= 32
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{r:?}: {s:?}"
            );
        }
    }

    #[test]
    fn every_cause_keeps_its_contract_code() {
        for (r, code) in ALL {
            assert_eq!(r.ws_code(), code, "{r:?}");
        }
        let overloads: Vec<CloseReason> = ALL
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| r.is_overload())
            .collect();
        assert_eq!(
            overloads,
            [
                OutboxFull,
                ReplayOverflow,
                ReplayGap,
                EventGap,
                HubLagged,
                WriteStalled
            ]
        );
    }
}
