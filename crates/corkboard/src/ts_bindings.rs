//! TypeScript declarations of the wire types, generated from the Rust types
//! with ts-rs so the web client's protocol cannot drift from the server's.
//! `web/src/realtime/generated.ts` is the committed output; a test fails
//! when it is stale (`UPDATE_TS_BINDINGS=1 cargo test -p corkboard ts_bindings`
//! rewrites it).

use ts_rs::{Config, TS};

use crate::core::{
    Board, ClientMessage, Color, ErrorBody, ErrorCode, Event, EventBody, Note, NoteDelta,
    Notification, Presence, Role, ServerMessage, SnapshotBody, UnsubscribeReason, User,
};

/// The contents of `generated.ts`.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        User::decl(&cfg),
        Role::decl(&cfg),
        Color::decl(&cfg),
        Board::decl(&cfg),
        Note::decl(&cfg),
        NoteDelta::decl(&cfg),
        EventBody::decl(&cfg),
        Event::decl(&cfg),
        Presence::decl(&cfg),
        Notification::decl(&cfg),
        ErrorCode::decl(&cfg),
        ErrorBody::decl(&cfg),
        SnapshotBody::decl(&cfg),
        UnsubscribeReason::decl(&cfg),
        ClientMessage::decl(&cfg),
        ServerMessage::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by ts-rs (crates/corkboard/src/ts_bindings.rs).\n\
         // Do not edit: run `UPDATE_TS_BINDINGS=1 cargo test -p corkboard ts_bindings`.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    /// The committed TypeScript matches the Rust types.
    #[test]
    fn ts_bindings_are_fresh() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/src/realtime/generated.ts"
        );
        let want = super::typescript();
        if std::env::var_os("UPDATE_TS_BINDINGS").is_some() {
            std::fs::write(path, &want).expect("write generated.ts");
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "web/src/realtime/generated.ts is stale: run `UPDATE_TS_BINDINGS=1 cargo test -p corkboard ts_bindings`"
        );
    }
}
