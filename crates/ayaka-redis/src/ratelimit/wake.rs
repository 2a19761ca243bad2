//! Wake-ups for the rate limiter: buckets announce freed capacity on the
//! wake channel (`b:<bucket>`, or `r:<route>` when a blind request
//! answered), and the head of the matching local lane asks again.

use std::sync::Weak;

use super::Inner;
use super::lanes::LaneKey;
use crate::keys::BucketHash;
use crate::subscribe::{self, Listener};

/// Starts listening for `inner`; stops when the listener is dropped or the
/// limiter is gone.
pub(super) fn listen(inner: Weak<Inner>, redis: crate::Connection, channel: String) -> Listener {
    subscribe::listen(redis, channel, move |payload| {
        let Some(inner) = inner.upgrade() else {
            return false;
        };
        dispatch(&inner, payload);
        true
    })
}

fn dispatch(inner: &Inner, payload: &[u8]) {
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    if let Some(hex) = text.strip_prefix("b:") {
        if let Some(bucket) = BucketHash::from_hex(hex) {
            inner.lanes.wake(&LaneKey::Bucket(bucket));
        }
    } else if text.starts_with("r:") {
        // A route's blind request answered: its waiters may go on, and
        // any bucket may have kept a slot back for it.
        inner.lanes.wake_all();
    }
}
