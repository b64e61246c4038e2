//! The live boards list: after a change that adds a board to someone's
//! list, renames it or takes it away, their notification streams (on every
//! node) get `event: boards` `{reason, board}` and refetch the list (the
//! protocol's "invalidation" pattern). Every door's change passes
//! [`App::mutate`](super::App::mutate) or the board create command, which
//! call this.

use crate::core::{Action, User};

use super::App;

/// Who is told, about what, for one mutation: worked out before it runs
/// (a deleted board's members cannot be listed afterwards).
#[derive(Debug)]
pub struct Pending {
    reason: &'static str,
    /// Told after the commit; `None`: the board's members then.
    users: Option<Vec<String>>,
}

/// What `action` by `actor` on `board` will tell, if anything.
pub async fn before(app: &App, actor: &User, board: &str, action: &Action) -> Option<Pending> {
    let (reason, users) = match action {
        Action::RenameBoard { .. } => ("renamed", None),
        Action::DeleteBoard => {
            let members = app.store.members(board).await.ok()?;
            (
                "deleted",
                Some(members.into_iter().map(|(u, _)| u.id).collect()),
            )
        }
        Action::Join { .. } => ("shared", Some(vec![actor.id.clone()])),
        Action::RemoveMember { user_id } if *user_id == actor.id => {
            ("left", Some(vec![actor.id.clone()]))
        }
        Action::RemoveMember { user_id } => ("removed", Some(vec![user_id.clone()])),
        // A role shows on the list too.
        Action::SetRole { user_id, .. } => ("shared", Some(vec![user_id.clone()])),
        _ => return None,
    };
    Some(Pending { reason, users })
}

/// Tells the users of `pending` once the mutation committed.
pub async fn after(app: &App, board: &str, pending: Pending) {
    let users = match pending.users {
        Some(u) => u,
        None => match app.store.members(board).await {
            Ok(m) => m.into_iter().map(|(u, _)| u.id).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not list members for a boards-list change");
                return;
            }
        },
    };
    for u in users {
        app.notify.boards(&u, pending.reason, board);
    }
}

/// A board was created: its owner's other tabs add it.
pub fn created(app: &App, owner: &User, board: &str) {
    app.notify.boards(&owner.id, "created", board);
}
