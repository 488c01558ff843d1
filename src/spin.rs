//! Handing work between threads without putting the receiver to sleep
//! when more is about to come.

use std::time::{Duration, Instant};

/// How long a thread that just finished its work polls for more before it
/// sleeps. Waking a sleeping thread (a futex wake, and on a virtual machine
/// often an inter-processor interrupt) costs tens of microseconds, more than
/// a warm invocation; a busy sender's next message usually comes sooner.
const SPIN: Duration = Duration::from_micros(30);

/// The next message if one arrives within `SPIN`; `None` otherwise (then
/// wait on the channel as usual) or when the channel is closed.
pub fn recv_soon<T>(inbox: &async_channel::Receiver<T>) -> Option<T> {
    soon(|| inbox.try_recv().map_err(|e| e.is_closed()))
}

/// `recv_soon` for any channel: `try_recv` gives a message, or whether
/// the channel is closed (`Err(true)`) rather than empty (`Err(false)`).
pub fn soon<T>(mut try_recv: impl FnMut() -> Result<T, bool>) -> Option<T> {
    let began = Instant::now();
    loop {
        match try_recv() {
            Ok(message) => return Some(message),
            Err(true) => return None,
            Err(false) if began.elapsed() > SPIN => return None,
            // Yield rather than spin hot: on two cores the sender may need this one.
            Err(false) => std::thread::yield_now(),
        }
    }
}
