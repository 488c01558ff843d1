//! Invocation and job ids, minted by the host rather than the database, so
//! callers know an invocation's id before it is written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::sql;
use crate::store::{now_millis, Backend, Store, StoreError, StoreResult};

/// Milliseconds of ids count from 2024-01-01.
const ID_EPOCH_MS: i64 = 1_704_067_200_000;
const SEQUENCE_BITS: u32 = 7;
const TAG_BITS: u32 = 5;

/// Invocation and job ids: ordered by time, and below 2^53 so that a
/// JavaScript number (ChatKitty's SDK, a browser) holds them exactly. 41
/// bits of milliseconds (69 years), 7 of sequence (a burst of more than 128
/// in a millisecond borrows the next one) and 5 naming the host, so hosts
/// sharing a store never make the same id. A store written by an earlier
/// chatfn, whose ids were larger, keeps counting up from its largest.
pub(crate) struct IdSource {
    tag: u64,
    /// Time and sequence of the last id.
    last: AtomicU64,
}

impl IdSource {
    pub(crate) fn new(tag: u64, largest_stored: i64) -> IdSource {
        IdSource { tag, last: AtomicU64::new(largest_stored.max(0) as u64 >> TAG_BITS) }
    }

    pub(crate) fn next(&self) -> i64 {
        let now = ((now_millis() - ID_EPOCH_MS).max(0) as u64) << SEQUENCE_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if now > last { now } else { last + 1 };
            match self.last.compare_exchange_weak(last, candidate, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return (candidate << TAG_BITS | self.tag) as i64,
                Err(seen) => last = seen,
            }
        }
    }
}

/// This host's id source, counting on from the largest id stored, and the
/// session that holds its tag.
pub(crate) async fn start(store: &Store) -> StoreResult<(Arc<IdSource>, HostTagSession)> {
    use sqlx::Row;
    // An active job's first attempt has its id only in the job until it
    // starts (each state read over its partial index, not the whole table).
    let largest: i64 = sqlx::query(
        "SELECT COALESCE((SELECT MAX(id) FROM invocations), 0) AS i, COALESCE((SELECT MAX(id) FROM jobs), 0) AS j, \
         COALESCE((SELECT MAX(invocation_id) FROM jobs WHERE status = 'QUEUED'), 0) AS q, \
         COALESCE((SELECT MAX(invocation_id) FROM jobs WHERE status = 'RUNNING'), 0) AS r",
    )
    .fetch_one(store.pool())
    .await
    .and_then(|row| {
        let [i, j, q, r] = ["i", "j", "q", "r"].map(|column| row.try_get::<i64, _>(column));
        Ok(i?.max(j?).max(q?).max(r?))
    })?;
    let (tag, session) = host_tag(store).await?;
    Ok((Arc::new(IdSource::new(tag, largest)), session))
}

pub(crate) type HostTagSession = Arc<parking_lot::Mutex<Option<sqlx::AnyConnection>>>;

/// This host's id tag. On SQLite there is one host: 0. On PostgreSQL the
/// first of 32 advisory locks this session gets; it is held as long as the
/// session lives and freed when the host dies.
async fn host_tag(store: &Store) -> StoreResult<(u64, HostTagSession)> {
    use sqlx::Row;
    if store.backend() == Backend::Sqlite {
        return Ok((0, HostTagSession::default()));
    }
    // "chatfn" in ASCII, then the tag.
    const LOCK_BASE: i64 = 0x6368_6174_666e_0000;
    let mut session = store.pool().acquire().await?.detach();
    for tag in 0..(1u64 << TAG_BITS) {
        let taken: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind(LOCK_BASE + tag as i64)
            .fetch_one(&mut session)
            .await?
            .try_get("taken")?;
        if taken {
            // Invocations a previous host with this tag left RUNNING outside
            // any job (blocking calls) were cut short: no live host has the tag.
            // Queued jobs' attempts are failed when their lapsed jobs are claimed.
            let failed = sqlx::query(sql::FAIL_UNFINISHED_BLOCKING_OF_TAG)
                .bind(sql::INTERRUPTED)
                .bind(now_millis())
                .bind(1i64 << TAG_BITS)
                .bind(tag as i64)
                .execute(&mut session)
                .await?
                .rows_affected();
            if failed > 0 {
                tracing::warn!(failed, tag, "failed blocking invocations a previous host with this tag left running");
            }
            return Ok((tag, Arc::new(parking_lot::Mutex::new(Some(session)))));
        }
    }
    Err(StoreError::Unavailable(format!("at most {} hosts can share one store", 1u64 << TAG_BITS)))
}

#[cfg(test)]
mod tests {
    use super::IdSource;

    const JS_SAFE: i64 = (1 << 53) - 1;

    #[test]
    fn ids_grow_name_their_host_and_fit_a_javascript_number() {
        let (a, b) = (IdSource::new(3, 0), IdSource::new(4, 0));
        let ids: Vec<i64> = (0..1_000).map(|_| a.next()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing, bursts included");
        assert!(ids.iter().all(|&id| id > 0 && id <= JS_SAFE && id & 31 == 3));
        let other = b.next();
        assert_eq!(other & 31, 4);
        assert!(!ids.contains(&other), "another host never makes the same id");
    }

    #[test]
    fn a_store_with_larger_ids_keeps_counting_up() {
        let earlier = 7_530_738_194_474_893_312;
        let ids = IdSource::new(0, earlier);
        let (first, second) = (ids.next(), ids.next());
        assert!(earlier < first && first < second, "{earlier} {first} {second}");
    }
}
