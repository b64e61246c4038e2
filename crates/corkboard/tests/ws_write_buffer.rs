//! The WebSocket write buffer is given back once a large frame is written
//! (issue 16, idle memory after a storm). tungstenite 0.29 kept its write
//! buffer at the largest size it ever reached, so every connection that was
//! once sent a large members list held that memory for the rest of its life;
//! vendor/tungstenite carries the fix. This test counts live heap bytes with
//! its own global allocator, so it is the only test in its binary: others
//! running beside it would allocate too.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicIsize, Ordering};

use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Message, WebSocket};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A socket that accepts every byte written and never has anything to read.
struct Sink;

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
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

#[test]
fn a_large_frame_s_write_buffer_is_freed_once_written() {
    let mut ws = WebSocket::from_raw_socket(Sink, Role::Server, None);
    ws.send(Message::text("warm-up")).expect("small frame");
    let before = LIVE.load(Ordering::Relaxed);
    ws.send(Message::text("m".repeat(256 << 10)))
        .expect("large frame");
    let kept = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        kept < 16 << 10,
        "the connection kept {kept} bytes after writing a 256 KiB frame"
    );
    // Small frames still go out, through a small buffer.
    ws.send(Message::text("after")).expect("small frame after");
    drop(ws);
}
