//! Notifications: what they look like on the wire, and the pure rules that
//! decide who gets one and what it says: newly added `@username` mentions in
//! a note edit ([`mention_notifications`]), the `invited` notification of an
//! invite that names a user ([`invited`]), and `board.activity` for members
//! away from a board, coalesced per board and user ([`ActivityCoalescer`]).
//! Both stores and the notifier call these; none of them decides on its own.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::model::{Note, User};
use super::time::Timestamp;

/// Kind of a notification about a mention of the user in a note.
pub const MENTION: &str = "mention";
/// Kind of a notification about an invite naming the user.
pub const INVITED: &str = "invited";
/// Kind of a notification about changes on a board the user is away from.
pub const BOARD_ACTIVITY: &str = "board.activity";
/// A mention notification carries at most this many characters of the note's text.
pub const MENTION_TEXT_CHARS: usize = 280;
/// Activity on one board notifies a given user at most this often.
pub const ACTIVITY_WINDOW_MS: i64 = 60_000;
/// Coalescing entries kept before the expired ones are dropped.
const ACTIVITY_ENTRIES: usize = 100_000;

/// A notification (`{id, kind, board, note?, by, at, text, read}`); ids are
/// decimal strings increasing per user.
#[derive(Clone, Debug, PartialEq, ts_rs::TS)]
pub struct Notification {
    /// Increasing per user; sent as a decimal string.
    #[ts(type = "string")]
    pub id: u64,
    #[ts(type = "\"mention\" | \"invited\" | \"board.activity\"")]
    pub kind: String,
    #[ts(type = "string")]
    pub board: Option<String>,
    #[ts(optional)]
    pub note: Option<String>,
    pub by: User,
    #[ts(type = "string")]
    pub at: Timestamp,
    pub text: String,
    pub read: bool,
}

impl Serialize for Notification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Notification", 8)?;
        st.serialize_field("id", &self.id.to_string())?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("board", &self.board)?;
        match &self.note {
            Some(n) => st.serialize_field("note", n)?,
            None => st.skip_field("note")?,
        }
        st.serialize_field("by", &self.by)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("text", &self.text)?;
        st.serialize_field("read", &self.read)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Notification {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The wire shape, with the id as the decimal string it is sent as.
        #[derive(Deserialize)]
        struct Wire {
            id: String,
            kind: String,
            board: Option<String>,
            note: Option<String>,
            by: User,
            at: Timestamp,
            text: String,
            read: bool,
        }
        let w = Wire::deserialize(d)?;
        let id =
            w.id.parse()
                .map_err(|_| serde::de::Error::custom("notification id is not a decimal number"))?;
        Ok(Notification {
            id,
            kind: w.kind,
            board: w.board,
            note: w.note,
            by: w.by,
            at: w.at,
            text: w.text,
            read: w.read,
        })
    }
}

/// A notification to create for `user_id` (the store assigns the id).
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub user_id: String,
    pub kind: &'static str,
    pub board: Option<String>,
    pub note: Option<String>,
    pub by: User,
    pub at: Timestamp,
    pub text: String,
}

/// Usernames mentioned as `@name` in `text` (lowercased; trailing dots dropped).
pub fn mentions(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts =
            chars[i] == '@' && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if starts {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '_' | '.' | '-'))
            {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect::<String>();
            let name = name.trim_end_matches(['.', '-']).to_lowercase();
            if (3..=32).contains(&name.len()) {
                out.insert(name);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Mentions present in `new` that were not in `old`.
pub fn new_mentions(old: &str, new: &str) -> Vec<String> {
    let before = mentions(old);
    mentions(new).difference(&before).cloned().collect()
}

/// Who a note change's newly mentioned names notify: the board members
/// among `mentioned` (`members` is what the store found for those names),
/// never the actor, each once, in user id order (the order the store then
/// takes their notification counters in).
pub fn mention_recipients<'a>(
    mentioned: &[String],
    members: &'a [User],
    actor: &User,
) -> Vec<&'a User> {
    let mut out: Vec<&User> = members
        .iter()
        .filter(|u| u.id != actor.id)
        .filter(|u| {
            mentioned
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&u.username))
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// The mention notifications for a change of `note` by `by` that newly
/// mentions `mentioned` (see [`mention_recipients`]): the note's text, cut
/// to [`MENTION_TEXT_CHARS`].
pub fn mention_notifications(
    note: &Note,
    mentioned: &[String],
    members: &[User],
    by: &User,
    at: Timestamp,
) -> Vec<NewNotification> {
    let recipients = mention_recipients(mentioned, members, by);
    if recipients.is_empty() {
        return Vec::new();
    }
    let text: String = note.text.chars().take(MENTION_TEXT_CHARS).collect();
    recipients
        .into_iter()
        .map(|to| NewNotification {
            user_id: to.id.clone(),
            kind: MENTION,
            board: Some(note.board.clone()),
            note: Some(note.id.clone()),
            by: by.clone(),
            at,
            text: text.clone(),
        })
        .collect()
}

/// The notification for `to`, named by an invite to `board`: its text is the invite token.
pub fn invited(board: &str, token: &str, by: &User, to: &User, at: Timestamp) -> NewNotification {
    NewNotification {
        user_id: to.id.clone(),
        kind: INVITED,
        board: Some(board.to_owned()),
        note: None,
        by: by.clone(),
        at,
        text: token.to_owned(),
    }
}

/// The `board.activity` notification for `to`: `by` changed the board titled `title`.
pub fn activity(board: &str, title: &str, by: &User, to: &User, at: Timestamp) -> NewNotification {
    NewNotification {
        user_id: to.id.clone(),
        kind: BOARD_ACTIVITY,
        board: Some(board.to_owned()),
        note: None,
        by: by.clone(),
        at,
        text: format!("{} changed “{}”", by.username, title),
    }
}

/// The `board.activity` rule: a change on a board notifies its members who
/// are not on it (not subscribed or present) and did not make the change, at
/// most once per [`ACTIVITY_WINDOW_MS`] per board per user.
#[derive(Debug, Default)]
pub struct ActivityCoalescer {
    /// When each (user, board) was last notified.
    last: HashMap<(String, String), Timestamp>,
}

impl ActivityCoalescer {
    /// The members `by`'s change on `board` at `now` notifies, given who is
    /// `present` on it; each is recorded as notified at `now`.
    pub fn due<'a>(
        &mut self,
        board: &str,
        by: &User,
        members: &'a [User],
        present: impl Fn(&User) -> bool,
        now: Timestamp,
    ) -> Vec<&'a User> {
        let mut out = Vec::new();
        for m in members {
            if m.id == by.id || present(m) {
                continue;
            }
            let key = (m.id.clone(), board.to_owned());
            if self
                .last
                .get(&key)
                .is_some_and(|t| now.0 - t.0 < ACTIVITY_WINDOW_MS)
            {
                continue;
            }
            self.last.insert(key, now);
            out.push(m);
        }
        if self.last.len() > ACTIVITY_ENTRIES {
            self.last.retain(|_, t| now.0 - t.0 < ACTIVITY_WINDOW_MS);
        }
        out
    }

    /// Forgets a deleted board.
    pub fn forget_board(&mut self, board: &str) {
        self.last.retain(|(_, b), _| b != board);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Color;

    fn u(name: &str) -> User {
        User {
            id: format!("id-{name}"),
            username: name.into(),
        }
    }

    fn note(text: &str) -> Note {
        Note {
            id: "n1".into(),
            board: "b1".into(),
            text: text.into(),
            x: 0.0,
            y: 0.0,
            w: 1.0,
            h: 1.0,
            color: Color::Yellow,
            version: 1,
            created_by: u("ann"),
            updated_at: Timestamp(0),
        }
    }

    /// Only board members among the mentioned names are notified, never the actor, once each.
    #[test]
    fn mentions_notify_members_but_not_the_actor() {
        let (ann, bob, cy) = (u("ann"), u("bob"), u("cy_"));
        let members = vec![cy.clone(), bob.clone(), ann.clone(), bob.clone()];
        let names = vec!["ann".to_owned(), "bob".to_owned(), "cy_".to_owned()];
        let to: Vec<&str> = mention_recipients(&names, &members, &ann)
            .iter()
            .map(|u| u.username.as_str())
            .collect();
        assert_eq!(
            to,
            vec!["bob", "cy_"],
            "user id order, actor left out, once each"
        );
        // A member the store returned but whom the text does not name is not notified.
        assert!(mention_recipients(&["bob".to_owned()], &[cy], &ann).is_empty());
    }

    /// A mention carries the note (board, id) and its text cut to 280 characters.
    #[test]
    fn mention_text_is_truncated_to_280_chars() {
        let text = format!("@bob {}", "é".repeat(400));
        let n = mention_notifications(
            &note(&text),
            &["bob".to_owned()],
            &[u("bob")],
            &u("ann"),
            Timestamp(7),
        );
        assert_eq!(n.len(), 1);
        let n = &n[0];
        assert_eq!((n.kind, n.user_id.as_str()), (MENTION, "id-bob"));
        assert_eq!(
            (n.board.as_deref(), n.note.as_deref()),
            (Some("b1"), Some("n1"))
        );
        assert_eq!(n.text.chars().count(), MENTION_TEXT_CHARS);
        assert!(text.starts_with(&n.text));
        assert_eq!((n.by.username.as_str(), n.at), ("ann", Timestamp(7)));
    }

    /// The invited notification names the board and carries the token.
    #[test]
    fn invited_carries_the_token() {
        let n = invited("b1", "cbi_x", &u("ann"), &u("bob"), Timestamp(3));
        assert_eq!(
            n,
            NewNotification {
                user_id: "id-bob".into(),
                kind: INVITED,
                board: Some("b1".into()),
                note: None,
                by: u("ann"),
                at: Timestamp(3),
                text: "cbi_x".into(),
            }
        );
    }

    /// Activity notifies members who are away and did not act, at most once a minute per board.
    #[test]
    fn activity_is_coalesced_per_board_and_user() {
        let (ann, bob, cy) = (u("ann"), u("bob"), u("cy_"));
        let members = vec![ann.clone(), bob.clone(), cy.clone()];
        let mut c = ActivityCoalescer::default();
        let names = |v: Vec<&User>| v.iter().map(|u| u.username.clone()).collect::<Vec<_>>();
        let cy_here = |m: &User| m.id == "id-cy_";
        assert_eq!(
            names(c.due("b1", &ann, &members, cy_here, Timestamp(0))),
            vec!["bob"]
        );
        // Within the minute: nothing more for bob on b1, but b2 is its own window.
        assert!(c
            .due("b1", &cy, &members, |_| false, Timestamp(59_999))
            .iter()
            .all(|m| m.id != bob.id));
        assert_eq!(
            names(c.due("b2", &ann, &members, cy_here, Timestamp(1))),
            vec!["bob"]
        );
        // A minute later bob is due again.
        assert_eq!(
            names(c.due("b1", &ann, &members, cy_here, Timestamp(60_000))),
            vec!["bob"]
        );
        // A deleted board is forgotten.
        c.forget_board("b1");
        assert_eq!(
            names(c.due("b1", &ann, &members, cy_here, Timestamp(60_001))),
            vec!["bob"]
        );
        let n = activity("b1", "Plan", &ann, &bob, Timestamp(5));
        assert_eq!(
            (n.kind, n.text.as_str()),
            (BOARD_ACTIVITY, "ann changed “Plan”")
        );
        assert_eq!(
            (n.user_id.as_str(), n.board.as_deref()),
            ("id-bob", Some("b1"))
        );
    }

    #[test]
    fn finds_mentions() {
        let m = mentions("hi @Bob and @carol_1. mail me@example.com, @al, @dave-");
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            vec!["bob", "carol_1", "dave"]
        );
    }

    #[test]
    fn only_new_mentions_count() {
        assert_eq!(new_mentions("", "@bob"), vec!["bob"]);
        assert!(new_mentions("@bob hi", "hi @bob!").is_empty());
        assert_eq!(new_mentions("@bob", "@bob @eve"), vec!["eve"]);
    }

    #[test]
    fn ids_are_decimal_strings() {
        let n = Notification {
            id: 12,
            kind: "mention".into(),
            board: Some("b".into()),
            note: None,
            by: User {
                id: "u".into(),
                username: "ann".into(),
            },
            at: Timestamp(0),
            text: "t".into(),
            read: false,
        };
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v["id"], "12");
        assert!(v.get("note").is_none());
    }
}
