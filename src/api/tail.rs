//! `GET /v1/functions/{id}/invocations/stream`: the live tail of a
//! function's invocation log, as server-sent events. Each invocation is sent
//! once, when its record is in the store, whichever host ran it (the tail
//! reads the shared store): in the order invocations finish, except that one
//! whose record came late (up to `LATE_MS` behind the newest sent) follows
//! when it comes. `Last-Event-ID` resumes after the last one a client saw.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::Id;
use super::resources::InvocationResource;
use super::AppState;

/// How often an open tail looks for newly finished invocations.
const POLL: Duration = Duration::from_millis(300);
/// A comment line this often keeps proxies from closing an idle tail, and
/// shows when its client has gone (its place is then given back).
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Invocations sent per look (the rest follow at once).
const BATCH: i64 = 100;
/// Open tails per application: each holds a connection and reads the store.
pub const MAX_TAILS_PER_APPLICATION: usize = 8;

/// How much earlier than the newest one sent an invocation may have
/// finished and still be sent when its record shows up late (ms). Records
/// reach the store in rounds, and on a shared PostgreSQL store from several
/// hosts, so one that finished first may be committed after one already sent.
const LATE_MS: i64 = 2_000;
/// Invocations a tail remembers having sent within that window; past it
/// (a function finishing more than this in `LATE_MS`) a late record may be
/// missed.
const MAX_SEEN: usize = 1_000;

/// A place in a function's log, in the order invocations finished:
/// (finished_at ms, id).
type Cursor = (i64, i64);

/// What a tail has sent. Records at or before `floor` are never sent; of
/// those after it, the ones in `seen` were (or were there before the tail
/// began). Each look re-reads from `floor`, so a record committed late but
/// within `LATE_MS` of the newest sent is still sent, once.
struct Follow {
    floor: Cursor,
    seen: std::collections::BTreeSet<Cursor>,
    newest: i64,
}

impl Follow {
    /// A tail from `point`: what is recorded at or before it counts as sent.
    async fn start(state: &AppState, application_id: i64, function_id: i64, point: Cursor) -> Follow {
        let window = (point.0 - LATE_MS - 1, i64::MAX);
        let limit = MAX_SEEN as i64 + 1;
        let recorded = state.store.invocations_finished_after(application_id, function_id, window, limit).await;
        match recorded {
            Ok(rows) if rows.len() <= MAX_SEEN => Follow {
                floor: window,
                seen: rows.iter().map(place).filter(|at| *at <= point).collect(),
                newest: point.0,
            },
            // A busy log (or none readable): strictly after `point`.
            _ => Follow { floor: point, seen: Default::default(), newest: point.0 },
        }
    }

    /// The records not sent yet (at most `BATCH` new ones), marked sent;
    /// and whether there may be more at once.
    async fn next(
        &mut self,
        state: &AppState,
        application_id: i64,
        function_id: i64,
    ) -> (Vec<crate::store::InvocationRecord>, bool) {
        let limit = BATCH + self.seen.len() as i64;
        let rows = match state.store.invocations_finished_after(application_id, function_id, self.floor, limit).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, application_id, function_id, "a live tail could not read the log");
                return (Vec::new(), false);
            }
        };
        let more = rows.len() as i64 == limit;
        let fresh: Vec<_> = rows.into_iter().filter(|record| self.seen.insert(place(record))).collect();
        if let Some(last) = fresh.iter().map(|record| place(record).0).max() {
            self.newest = self.newest.max(last);
        }
        while let Some(&oldest) = self.seen.first() {
            if oldest.0 >= self.newest - LATE_MS && self.seen.len() <= MAX_SEEN {
                break;
            }
            self.floor = oldest;
            self.seen.pop_first();
        }
        (fresh, more)
    }
}

fn place(record: &crate::store::InvocationRecord) -> Cursor {
    (record.finished_at.unwrap_or_default(), record.id)
}

fn event_id((finished_at, id): Cursor) -> String {
    format!("{finished_at}-{id}")
}

fn parse_event_id(text: &str) -> Option<Cursor> {
    let (finished_at, id) = text.split_once('-')?;
    Some((finished_at.parse().ok()?, id.parse().ok()?))
}

/// Counts an application's open tails; one less when dropped.
struct Open {
    state: AppState,
    application_id: i64,
}

impl Open {
    fn new(state: &AppState, application_id: i64) -> Option<Open> {
        let mut tails = state.tails.lock();
        let open = tails.entry(application_id).or_default();
        if *open >= MAX_TAILS_PER_APPLICATION {
            return None;
        }
        *open += 1;
        Some(Open { state: state.clone(), application_id })
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut tails = self.state.tails.lock();
        if let Some(open) = tails.get_mut(&self.application_id) {
            *open -= 1;
            if *open == 0 {
                tails.remove(&self.application_id);
            }
        }
    }
}

#[utoipa::path(get, path = "/v1/functions/{id}/invocations/stream", tag = "Chat Functions",
    params(("id" = i64, Path, description = "Resource ID"),
           ("Last-Event-ID" = Option<String>, Header, nullable = false, description = "Resume after this event (the `id` of the last one received); any other value starts from now")),
    responses((status = 200, content_type = "text/event-stream", body = InvocationResource,
               description = "Server-sent events: `event: invocation`, `data:` the invocation as the log shows it, one per finished invocation (test runs left out), from now on or after Last-Event-ID; a comment every 5 s keeps the connection open"),
              (status = 404, description = "No such function"),
              (status = 429, description = "Too many open tails for this application")),
    security(("bearer" = [])))]
/// Follow a function's invocation log: each invocation as it finishes.
pub async fn stream_invocations(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let application_id = tenant.application_id;
    super::functions::function_or_404(&state, tenant, id).await?;
    // An id this stream did not send (another stream's, or none) starts
    // from now, as an EventSource reconnecting elsewhere would expect.
    let resume = headers.get("last-event-id").and_then(|value| parse_event_id(value.to_str().ok()?));
    let open = Open::new(&state, application_id).ok_or_else(|| {
        ApiError::too_many_requests(
            format!("at most {MAX_TAILS_PER_APPLICATION} live tails may be open per application"),
            5,
        )
    })?;
    // From now on: what finishes after this moment.
    let point = resume.unwrap_or((crate::store::now_millis(), i64::MAX));
    let follow = Follow::start(&state, application_id, id, point).await;
    let events = futures::stream::unfold((open, follow, true), move |(open, mut follow, at_once)| async move {
        if !at_once {
            tokio::time::sleep(POLL).await;
        }
        let (batch, more) = follow.next(&open.state, application_id, id).await;
        let events: Vec<Result<Event, Infallible>> = batch
            .iter()
            .map(|record| {
                let resource = InvocationResource::new(&open.state, record);
                let event = Event::default().event("invocation").id(event_id(place(record)));
                Ok(event.json_data(resource).expect("an invocation serialises"))
            })
            .collect();
        Some((futures::stream::iter(events), (open, follow, more)))
    });
    use futures::StreamExt;
    Ok(Sse::new(events.flatten()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_ids_round_trip() {
        assert_eq!(super::parse_event_id(&super::event_id((1_764_750_000_000, 42))), Some((1_764_750_000_000, 42)));
        assert_eq!(super::parse_event_id("nope"), None);
        assert_eq!(super::parse_event_id("1-x"), None);
    }
}
