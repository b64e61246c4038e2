//! Notifications: what they look like on the wire, and the pure rule that
//! finds newly added `@username` mentions in a note edit.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::User;
use super::time::Timestamp;

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

#[cfg(test)]
mod tests {
    use super::*;

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
