//! A `BoardUpdate` already encoded: what the server streams. The hub hands
//! every subscriber of a board the same frame; the door decodes it into a
//! `BoardUpdate` and encodes that once ([`super::feed::FrameDecoder`]),
//! and each stream then sends the same bytes (a reference count, no copy
//! until tonic writes them into its buffer). build.rs maps the contract's
//! `BoardUpdate` to this type in the server's generated code only.

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use super::pb;

/// The encoded fields of one `BoardUpdate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedUpdate(pub Bytes);

impl EncodedUpdate {
    /// Encodes `u` once.
    pub fn new(u: &pb::BoardUpdate) -> Self {
        Self(Bytes::from(u.encode_to_vec()))
    }
}

impl Message for EncodedUpdate {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// The server never decodes a `BoardUpdate` (it is only ever a
    /// response); were one read into this type, its fields are skipped.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoded by this type, inside a ServerMessage or alone, the bytes are
    /// exactly what the plain generated types encode: clients cannot tell.
    #[test]
    fn same_bytes_as_the_generated_types() {
        let u = pb::BoardUpdate {
            update: Some(pb::board_update::Update::Subscribed(pb::Subscribed {
                board: "b".into(),
                seq: 7,
                replayed: 2,
            })),
        };
        let e = EncodedUpdate::new(&u);
        assert_eq!(e.encode_to_vec(), u.encode_to_vec());
        let plain = pb::ServerMessage {
            msg: Some(pb::server_message::Msg::Update(u.clone())),
        };
        let ours = pb::server::ServerMessage {
            msg: Some(pb::server::server_message::Msg::Update(e)),
        };
        assert_eq!(ours.encode_to_vec(), plain.encode_to_vec());
        assert_eq!(
            pb::ServerMessage::decode(&*ours.encode_to_vec()).unwrap(),
            plain
        );
    }
}
