//! The pure core: the contract's model, its rules and its errors. Nothing in
//! here knows about sockets, SQL or Redis; a new rule (a limit, a permission,
//! a conflict policy) goes here, with unit tests beside it.

pub mod error;
pub mod event;
pub mod history;
pub mod messages;
pub mod model;
pub mod mutation;
pub mod notification;
pub mod outcome;
pub mod search;
pub mod text;
pub mod time;

pub use error::{ApiError, ErrorCode};
pub use event::{Event, EventBody, NoteDelta};
pub use history::{HistoryState, ReplayError};
pub use messages::{
    check_signal, ClientMessage, ErrorBody, ServerMessage, SnapshotBody, UnsubscribeReason,
};
pub use model::{
    board_quota, Board, Color, FieldVersions, Limits, Note, NoteRecord, Presence, Role, User,
};
pub use mutation::{
    plan, Action, BoardState, Ctx, Effect, InviteUse, Mutation, NoteCreate, NoteDelete, NoteEdit,
    NoteUpdate, OpOnly, Plan,
};
pub use notification::{NewNotification, Notification};
pub use outcome::Outcome;
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
