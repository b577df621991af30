//! A run's progress as server-sent events, read from its members' run folders: every line
//! of their `metrics.jsonl` (`metric`), a new network to preview at each checkpoint
//! (`preview`), each change of status (`status`), and `end` once no member is training.
//! A page that opens the stream late gets the whole history first.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use axum::extract::{Path as UrlPath, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::runs::{newest_network, Status};
use super::{ApiResult, Shared};

/// How often the run folders are read.
const POLL: Duration = Duration::from_millis(250);

/// What the stream has sent of one member.
struct Seen {
    name: String,
    prefix: &'static str,
    dir: PathBuf,
    offset: u64,
    network: Option<SystemTime>,
    status: Option<Status>,
}

struct Stream_ {
    app: Shared,
    id: String,
    members: Vec<Seen>,
    queue: VecDeque<Event>,
    ended: bool,
}

pub(super) async fn run_events(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let members = app.with_run(&id, |run| {
        Ok(run
            .members
            .iter()
            .map(|m| Seen {
                name: m.name.clone(),
                prefix: run.request.network_prefix(),
                dir: m.dir.clone(),
                offset: 0,
                network: None,
                status: None,
            })
            .collect())
    })?;
    let state = Stream_ {
        app,
        id,
        members,
        queue: VecDeque::new(),
        ended: false,
    };
    let events = stream::unfold(state, |mut s| async move {
        loop {
            if let Some(e) = s.queue.pop_front() {
                return Some((Ok(e), s));
            }
            if s.ended {
                return None;
            }
            let first = s.members.iter().all(|m| m.status.is_none());
            if !first {
                tokio::time::sleep(POLL).await;
            }
            poll(&mut s);
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Reads what is new in the run's folders into the queue.
fn poll(s: &mut Stream_) {
    let statuses = s
        .app
        .with_run(&s.id, |run| Ok(run.statuses()))
        .unwrap_or_default();
    let mut training = false;
    for m in &mut s.members {
        // The status first: a member that ended has written its last lines by then.
        let status = statuses
            .get(&m.name)
            .cloned()
            .unwrap_or(Status::Failed("the run was removed".into()));
        training |= status == Status::Running;
        for line in new_lines(m) {
            if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&line) {
                v["member"] = m.name.clone().into();
                s.queue
                    .push_back(Event::default().event("metric").data(v.to_string()));
            }
        }
        let network = newest_network(&m.dir, m.prefix).map(|(_, t)| t);
        if network.is_some() && network != m.network {
            m.network = network;
            let stamp = network
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis());
            let data = serde_json::json!({
                "member": m.name,
                "url": format!("/api/runs/{}/{}/preview.png?t={stamp}", s.id, m.name),
            });
            s.queue
                .push_back(Event::default().event("preview").data(data.to_string()));
        }
        if m.status.as_ref() != Some(&status) {
            let data = serde_json::json!({ "member": m.name, "status": status });
            s.queue
                .push_back(Event::default().event("status").data(data.to_string()));
            m.status = Some(status);
        }
    }
    if !training {
        s.queue.push_back(Event::default().event("end").data("{}"));
        s.ended = true;
    }
}

/// The complete lines added to the member's `metrics.jsonl` since the last read.
fn new_lines(m: &mut Seen) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(m.dir.join("metrics.jsonl")) else {
        return Vec::new();
    };
    let mut text = String::new();
    if file.seek(SeekFrom::Start(m.offset)).is_err() || file.read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    // A line still being written waits for the next read.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    m.offset += complete as u64;
    text[..complete].lines().map(str::to_string).collect()
}
