//! `GET /v1/functions/{id}/invocations/stream`: the live tail of a
//! function's invocation log, as server-sent events. Each invocation is sent
//! once it has finished, in the order invocations finish, whichever host ran
//! it (the tail reads the shared store); `Last-Event-ID` resumes after the
//! last one a client saw.

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

/// Where a tail is: the last invocation sent, as (finished_at ms, id).
type Cursor = (i64, i64);

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
    let cursor = resume.unwrap_or((crate::store::now_millis(), i64::MAX));
    let events = futures::stream::unfold((open, cursor, true), move |(open, mut cursor, first)| async move {
        if !first {
            tokio::time::sleep(POLL).await;
        }
        let batch = match open.state.store.invocations_finished_after(application_id, id, cursor, BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, application_id, function_id = id, "a live tail could not read the log");
                Vec::new()
            }
        };
        let events: Vec<Result<Event, Infallible>> = batch
            .iter()
            .map(|record| {
                cursor = (record.finished_at.unwrap_or(cursor.0), record.id);
                let resource = InvocationResource::new(&open.state, record);
                let event = Event::default().event("invocation").id(event_id(cursor));
                Ok(event.json_data(resource).expect("an invocation serialises"))
            })
            .collect();
        // A full batch: look again at once, there is more.
        let again = events.len() as i64 == BATCH;
        Some((futures::stream::iter(events), (open, cursor, again)))
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
