//! Message ids and times: UUIDv7 ids that only grow, and times at the millisecond both backends store.

use time::OffsetDateTime;
use uuid::Uuid;

use super::timestamp::to_millis;

/// Assigns message ids that only grow: UUIDv7 from the clock, or one more than the last id when the clock
/// has not moved past it (same millisecond, a clock step backwards, or another process with a clock ahead
/// of ours). Like a hybrid logical clock, an id's time is never earlier than the id before it.
///
/// Growing within one process is not enough when several write to one database; each backend also makes
/// sure the id it stores is greater than every id already committed, at commit time (SQLite: the writer
/// holds the file's write lock and reads the largest id first; MongoDB: the `prev` chain, see
/// [`mongo`]).
#[derive(Debug, Default)]
pub struct MessageIds {
    last: Option<Uuid>,
    clock_offset_ms: i64,
}

const V7_COUNTER_BITS: u32 = 74;
const V7_COUNTER_MASK: u128 = (1 << V7_COUNTER_BITS) - 1;

impl MessageIds {
    /// Ids from a clock `clock_offset_ms` off the real one (0 in production).
    pub fn with_clock_offset(clock_offset_ms: i64) -> Self {
        Self { last: None, clock_offset_ms }
    }

    /// Makes sure later ids sort after `id` (e.g. the largest id already stored).
    pub fn observe(&mut self, id: Uuid) {
        if self.last.is_none_or(|last| id > last) {
            self.last = Some(id);
        }
    }

    /// The next id, greater than every id observed or issued.
    pub fn next_id(&mut self) -> Uuid {
        let fresh = if self.clock_offset_ms == 0 { Uuid::now_v7() } else { self.skewed_v7() };
        let id = match self.last {
            Some(last) if fresh <= last => {
                let (ms, counter) = v7_split(last);
                if counter == V7_COUNTER_MASK { v7_join(ms + 1, 0) } else { v7_join(ms, counter + 1) }
            }
            _ => fresh,
        };
        self.last = Some(id);
        id
    }
}

impl MessageIds {
    fn skewed_v7(&self) -> Uuid {
        let now = to_millis(OffsetDateTime::now_utc()).saturating_add(self.clock_offset_ms).max(0) as u64;
        let mut random = [0u8; 16];
        rand::fill(&mut random[..]);
        v7_join(now, u128::from_le_bytes(random) & V7_COUNTER_MASK)
    }
}

/// Splits a UUIDv7 into its millisecond timestamp and its 74 bits of counter/random (`rand_a` ++ `rand_b`).
fn v7_split(id: Uuid) -> (u64, u128) {
    let bits = id.as_u128();
    let ms = (bits >> 80) as u64;
    let rand_a = (bits >> 64) & 0xfff;
    let rand_b = bits & ((1 << 62) - 1);
    (ms, (rand_a << 62) | rand_b)
}

fn v7_join(ms: u64, counter: u128) -> Uuid {
    let rand_a = (counter >> 62) & 0xfff;
    let rand_b = counter & ((1 << 62) - 1);
    Uuid::from_u128((u128::from(ms) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
}

/// The smallest message id of `time`'s millisecond: messages created before `time` have smaller ids.
pub fn first_id_at(time: OffsetDateTime) -> Uuid {
    v7_join(to_millis(time).max(0) as u64, 0)
}

/// The creation time encoded in a message id.
pub fn message_time(id: Uuid) -> OffsetDateTime {
    let (ms, _) = v7_split(id);
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_only_grow_even_within_one_millisecond() {
        let mut ids = MessageIds::default();
        let mut previous = ids.next_id();
        for _ in 0..10_000 {
            let id = ids.next_id();
            assert!(id > previous);
            assert_eq!(id.get_version_num(), 7);
            previous = id;
        }
    }

    #[test]
    fn message_ids_stay_ahead_of_an_id_from_the_future() {
        let mut ids = MessageIds::default();
        // A day ahead (another process with a fast clock), with its counter exhausted: the carry moves on to
        // the next millisecond.
        let tomorrow = to_millis(OffsetDateTime::now_utc()) as u64 + 86_400_000;
        let future = v7_join(tomorrow, V7_COUNTER_MASK);
        ids.observe(future);
        let next = ids.next_id();
        assert!(next > future);
        assert_eq!(next.get_version_num(), 7);
        assert_eq!(next.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(v7_split(next), (tomorrow + 1, 0));
    }

    #[test]
    fn a_message_id_carries_its_creation_time() {
        let before = to_millis(OffsetDateTime::now_utc());
        let id = MessageIds::default().next_id();
        let at = to_millis(message_time(id));
        assert!(at >= before && at <= to_millis(OffsetDateTime::now_utc()));
    }
}
