//! One dashboard client's connection: the hello, its requests read and answered in order, the
//! subscription forwarded into its bounded queue, and the writer that drops it when it stops
//! reading.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use scimd_core::wire::PROTOCOL_VERSION;
use scimd_core::wire::{ActivityRecord, ClientMsg, ServerMsg};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use super::answer::answer;
use super::{line, ControlState, WRITE_TIMEOUT};

/// Messages queued for one client before new records are dropped for it (and counted).
const CLIENT_QUEUE: usize = 256;
/// How long a new client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request line accepted; requests are tiny, so anything longer is not ours.
const MAX_LINE: usize = 64 * 1024;

/// Reads one request line. `Ok(None)` at end of stream; a line that is not a request is
/// `Some(Err(reason))`.
async fn read_msg<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut String,
) -> io::Result<Option<Result<ClientMsg, String>>> {
    loop {
        buf.clear();
        let n = (&mut *reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(buf)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if n > MAX_LINE && !buf.ends_with('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request line too long",
            ));
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        return Ok(Some(
            serde_json::from_str(text).map_err(|e| format!("not a request: {e}")),
        ));
    }
}

/// One client: hello, then requests in order until it leaves, stops reading, or we stop.
pub(super) async fn connection(
    stream: UnixStream,
    state: Arc<ControlState>,
    counters: watch::Receiver<Option<ServerMsg>>,
    mut stop: watch::Receiver<bool>,
) {
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<ServerMsg>(CLIENT_QUEUE);
    let writer = tokio::spawn(write_loop(wr, rx));
    let mut reader = BufReader::new(rd);
    let mut buf = String::new();

    let hello = tokio::time::timeout(HELLO_TIMEOUT, read_msg(&mut reader, &mut buf)).await;
    let greeting = match hello {
        Ok(Ok(Some(Ok(ClientMsg::Hello { version })))) if version == PROTOCOL_VERSION => Ok(()),
        Ok(Ok(Some(Ok(ClientMsg::Hello { version })))) => Err(format!(
            "protocol version {version} is not supported; this daemon speaks version {PROTOCOL_VERSION}"
        )),
        Ok(Ok(Some(_))) => Err("the first message must be a hello".to_string()),
        Ok(Ok(None)) | Ok(Err(_)) => Err(String::new()),
        Err(_) => Err("no hello in time".to_string()),
    };
    if let Err(message) = greeting {
        if !message.is_empty() {
            tracing::debug!(%message, "control client refused");
            let _ = tx.send(ServerMsg::Error { message }).await;
        }
        drop(tx);
        let _ = tokio::time::timeout(WRITE_TIMEOUT, writer).await;
        return;
    }
    let _ = tx
        .send(ServerMsg::Hello {
            version: PROTOCOL_VERSION,
            daemon: state.info(),
        })
        .await;

    let mut forwarder: Option<JoinHandle<()>> = None;
    loop {
        tokio::select! {
            msg = read_msg(&mut reader, &mut buf) => {
                let reply = match msg {
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(cause = %err, "control client read failed");
                        break;
                    }
                    Ok(Some(Err(message))) => ServerMsg::Error { message },
                    Ok(Some(Ok(ClientMsg::Subscribe))) => {
                        if forwarder.is_none() {
                            forwarder = Some(tokio::spawn(forward(
                                tx.clone(),
                                state.feed.subscribe(),
                                counters.clone(),
                            )));
                        }
                        continue;
                    }
                    Ok(Some(Ok(req))) => answer(&state, req).await,
                };
                // Waits only on this client's own queue; a stuck client is dropped by the
                // writer's timeout, which closes the queue and ends this wait.
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
            () = tx.closed() => break,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    if let Some(f) = forwarder {
        f.abort();
    }
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
}

/// Streams records and counters into one client's queue without ever waiting on it: what
/// does not fit is counted and reported as `Lagged` once there is room again.
async fn forward(
    tx: mpsc::Sender<ServerMsg>,
    mut feed: broadcast::Receiver<ActivityRecord>,
    mut counters: watch::Receiver<Option<ServerMsg>>,
) {
    let mut missed: u64 = 0;
    // Returns false when the client is gone.
    let offer = |msg: ServerMsg, missed: &mut u64, counts: bool| -> bool {
        if *missed > 0 {
            match tx.try_send(ServerMsg::Lagged { missed: *missed }) {
                Ok(()) => *missed = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    *missed += u64::from(counts);
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match tx.try_send(msg) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                *missed += u64::from(counts);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    };
    loop {
        tokio::select! {
            got = feed.recv() => match got {
                Ok(record) => {
                    if !offer(ServerMsg::Activity { record }, &mut missed, true) {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => missed += n,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = counters.changed() => {
                if changed.is_err() {
                    return;
                }
                let msg = counters.borrow_and_update().clone();
                // A dropped counters message is not a missed record: the next one replaces it.
                if let Some(msg) = msg {
                    if !offer(msg, &mut missed, false) {
                        return;
                    }
                }
            }
        }
    }
}

/// Writes queued messages, several per syscall when they pile up. Ends when the queue closes
/// or the client stops reading for [`WRITE_TIMEOUT`].
async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mpsc::Receiver<ServerMsg>) {
    let mut out = Vec::new();
    while let Some(msg) = rx.recv().await {
        out.clear();
        out.extend(line(&msg));
        while out.len() < 64 * 1024 {
            match rx.try_recv() {
                Ok(msg) => out.extend(line(&msg)),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::debug!(cause = %err, "control client went away");
                return;
            }
            Err(_) => {
                tracing::warn!("dashboard client stopped reading; disconnecting it");
                return;
            }
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_msg_skips_blank_lines_and_reports_bad_ones() {
        let input = b"\n{\"type\":\"snapshot\"}\nnonsense\n".to_vec();
        let mut reader = BufReader::new(&input[..]);
        let mut buf = String::new();
        let first = read_msg(&mut reader, &mut buf).await.unwrap();
        assert_eq!(first, Some(Ok(ClientMsg::Snapshot)));
        let second = read_msg(&mut reader, &mut buf).await.unwrap();
        assert!(matches!(second, Some(Err(_))));
        assert_eq!(read_msg(&mut reader, &mut buf).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_full_queue_turns_into_lagged() {
        let (tx, mut rx) = mpsc::channel(2);
        let (feed_tx, feed_rx) = broadcast::channel(16);
        let (_counters_tx, counters_rx) = watch::channel(None);
        let task = tokio::spawn(forward(tx, feed_rx, counters_rx));
        let record = |seq| ActivityRecord {
            seq,
            time: String::new(),
            org: "acme".into(),
            client: "Okta".into(),
            method: "POST".into(),
            resource: "User".into(),
            id: None,
            name: None,
            summary: "created".into(),
            status: 201,
            scim_type: None,
            latency_us: 0,
        };
        for seq in 1..=5 {
            feed_tx.send(record(seq)).unwrap();
        }
        // Let the forwarder drain the feed into the 2-slot queue.
        let first = rx.recv().await.unwrap();
        assert!(matches!(first, ServerMsg::Activity { record } if record.seq == 1));
        tokio::time::timeout(Duration::from_secs(5), async {
            while !feed_tx.is_empty() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        // What fit in the queue was delivered; the rest was counted.
        let mut delivered = 1;
        while let Ok(msg) = rx.try_recv() {
            assert!(matches!(msg, ServerMsg::Activity { .. }));
            delivered += 1;
        }
        assert!(delivered < 5);
        feed_tx.send(record(6)).unwrap();
        match rx.recv().await {
            Some(ServerMsg::Lagged { missed }) => assert_eq!(missed, 5 - delivered),
            other => panic!("expected Lagged, got {other:?}"),
        }
        assert!(matches!(rx.recv().await, Some(ServerMsg::Activity { record }) if record.seq == 6));
        task.abort();
    }
}
