//! A WebSocket connection holds no read or write buffer between messages
//! (issue 16, memory per idle connection). tungstenite 0.29 kept its write
//! buffer at the largest size it ever reached, so every connection that was
//! once sent a large members list held that memory for the rest of its life,
//! and it allocated `read_buffer_size` bytes of read buffer per connection up
//! front and kept them; vendor/tungstenite carries the fix. This test counts
//! live heap bytes with its own global allocator, so it is the only test in
//! its binary (others running beside it would allocate too), and its checks
//! run one after another in one function.

use std::io::{self, Read, Write};

use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Message, WebSocket};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// A socket that accepts every byte written and has `input` to read, then
/// nothing yet (`WouldBlock`), as a connection waiting for its peer.
struct Sink {
    input: io::Cursor<Vec<u8>>,
}

impl Sink {
    fn new() -> Self {
        Self::reading(Vec::new())
    }
    fn reading(input: Vec<u8>) -> Self {
        Self {
            input: io::Cursor::new(input),
        }
    }
}

impl Read for Sink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.read(buf)? {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A socket that keeps what is written to it: a client's frames, masked.
#[derive(Default)]
struct Recorder(Vec<u8>);

impl Read for Recorder {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `text` as a client sends it: one masked frame.
fn client_frame(text: &str) -> Vec<u8> {
    let mut client = WebSocket::from_raw_socket(Recorder::default(), Role::Client, None);
    client.send(Message::text(text)).expect("client frame");
    std::mem::take(&mut client.get_mut().0)
}

fn live() -> isize {
    counting::live()
}

/// Reads the one message `ws` has and checks that nothing more is to be
/// read yet: the connection is back to waiting. The caller drops the message.
fn read_one_then_wait(ws: &mut WebSocket<Sink>) -> Message {
    let got = ws.read().expect("the client's message");
    let next = ws.read();
    assert!(
        matches!(&next, Err(tokio_tungstenite::tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock),
        "nothing more to read, got {next:?}"
    );
    got
}

#[test]
fn a_connection_holds_no_buffer_between_messages() {
    a_large_frame_s_write_buffer_is_freed_once_written();
    a_waiting_connection_holds_no_read_buffer();
    a_large_incoming_frame_is_not_kept();
}

fn a_large_frame_s_write_buffer_is_freed_once_written() {
    let mut ws = WebSocket::from_raw_socket(Sink::new(), Role::Server, None);
    ws.send(Message::text("warm-up")).expect("small frame");
    let before = live();
    ws.send(Message::text("m".repeat(256 << 10)))
        .expect("large frame");
    let kept = live() - before;
    assert!(
        kept < 16 << 10,
        "the connection kept {kept} bytes after writing a 256 KiB frame"
    );
    // Small frames still go out, through a buffer allocated for the write.
    ws.send(Message::text("after")).expect("small frame after");
    drop(ws);
}

/// tungstenite's default read buffer is 128 KiB: a connection that waits for
/// a message, having sent and received some, must not hold it (nor its last
/// write).
fn a_waiting_connection_holds_no_read_buffer() {
    let input = Sink::reading(client_frame("subscribe"));
    let before = live();
    let mut ws = WebSocket::from_raw_socket(input, Role::Server, None);
    ws.send(Message::text("welcome")).expect("small frame");
    assert_eq!(read_one_then_wait(&mut ws), Message::text("subscribe"));
    let kept = live() - before;
    assert!(
        kept < 256,
        "a connection waiting for its next message holds {kept} bytes of buffers"
    );
    drop(ws);
}

/// A 60 KiB message read and handled: its memory goes with it.
fn a_large_incoming_frame_is_not_kept() {
    let frame = client_frame(&"x".repeat(60 << 10));
    let mut ws = WebSocket::from_raw_socket(Sink::reading(frame), Role::Server, None);
    let before = live();
    assert_eq!(read_one_then_wait(&mut ws).len(), 60 << 10);
    let kept = live() - before;
    assert!(
        kept < 1024,
        "the connection kept {kept} bytes after reading a 60 KiB message"
    );
    drop(ws);
}
