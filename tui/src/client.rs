//! The control-socket client: connects, says hello, forwards every daemon message to the app
//! as a [`Msg`], sends the app's requests, and reconnects with backoff whenever the daemon
//! goes away (a restart, a crash), telling the app it is disconnected meanwhile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use scimd_core::wire::{ClientMsg, ServerMsg, PROTOCOL_VERSION};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::app::Msg;

const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the daemon has to answer the hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error("unexpected answer to hello: {0}")]
    Protocol(String),
    #[error("the daemon did not answer the hello")]
    Timeout,
    #[error("the daemon closed the connection")]
    Closed,
}

fn line(msg: &ClientMsg) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(msg).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Runs until the app hangs up (`to_app` closed).
pub async fn run(
    socket: PathBuf,
    to_app: mpsc::Sender<Msg>,
    mut requests: mpsc::Receiver<ClientMsg>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let (result, was_connected) = session(&socket, &to_app, &mut requests).await;
        if to_app.is_closed() {
            return;
        }
        let reason = match result {
            Ok(()) => return,
            Err(e) => e.to_string(),
        };
        tracing::debug!(%reason, "control socket session ended");
        if to_app.send(Msg::Disconnected(reason)).await.is_err() {
            return;
        }
        if was_connected {
            backoff = MIN_BACKOFF;
        }
        // Requests made while disconnected are for a state the reconnect refreshes anyway.
        tokio::time::sleep(backoff).await;
        while requests.try_recv().is_ok() {}
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection. Ok(()) only when the app is gone; the bool says whether the hello
/// succeeded (which resets the backoff).
async fn session(
    socket: &Path,
    to_app: &mpsc::Sender<Msg>,
    requests: &mut mpsc::Receiver<ClientMsg>,
) -> (Result<(), ClientError>, bool) {
    let stream = match UnixStream::connect(socket).await {
        Ok(s) => s,
        Err(e) => return (Err(e.into()), false),
    };
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    if let Err(e) = wr
        .write_all(&line(&ClientMsg::Hello {
            version: PROTOCOL_VERSION,
        }))
        .await
    {
        return (Err(e.into()), false);
    }
    let first = match tokio::time::timeout(HELLO_TIMEOUT, lines.next_line()).await {
        Err(_) => return (Err(ClientError::Timeout), false),
        Ok(Err(e)) => return (Err(e.into()), false),
        Ok(Ok(None)) => return (Err(ClientError::Closed), false),
        Ok(Ok(Some(l))) => l,
    };
    match serde_json::from_str::<ServerMsg>(&first) {
        Ok(ServerMsg::Hello { daemon, .. }) => {
            if to_app.send(Msg::Connected(daemon)).await.is_err() {
                return (Ok(()), true);
            }
        }
        Ok(ServerMsg::Error { message }) => return (Err(ClientError::Refused(message)), false),
        Ok(other) => return (Err(ClientError::Protocol(format!("{other:?}"))), false),
        Err(e) => return (Err(ClientError::Protocol(e.to_string())), false),
    }
    loop {
        tokio::select! {
            got = lines.next_line() => match got {
                Ok(Some(l)) => match serde_json::from_str::<ServerMsg>(&l) {
                    Ok(msg) => {
                        if to_app.send(Msg::Server(msg)).await.is_err() {
                            return (Ok(()), true);
                        }
                    }
                    // A newer daemon may add messages; skipping them keeps the rest working.
                    Err(e) => tracing::debug!(cause = %e, "ignoring an unknown message"),
                },
                Ok(None) => return (Err(ClientError::Closed), true),
                Err(e) => return (Err(e.into()), true),
            },
            req = requests.recv() => match req {
                Some(req) => {
                    if let Err(e) = wr.write_all(&line(&req)).await {
                        return (Err(e.into()), true);
                    }
                }
                None => return (Ok(()), true),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::UnixListener;

    use super::*;
    use scimd_core::wire::DaemonInfo;

    fn info() -> DaemonInfo {
        DaemonInfo {
            version: "t".into(),
            listen: "http://x".into(),
            started: String::new(),
            uptime_secs: 1,
        }
    }

    async fn next(rx: &mut mpsc::Receiver<Msg>) -> Msg {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a message in time")
            .expect("client alive")
    }

    /// A fake daemon that answers the hello, echoes one request as an Error, then hangs up.
    async fn fake_daemon(listener: &UnixListener) {
        let (stream, _) = listener.accept().await.unwrap();
        let (rd, mut wr) = stream.into_split();
        let mut lines = BufReader::new(rd).lines();
        let hello = lines.next_line().await.unwrap().unwrap();
        assert_eq!(hello, r#"{"type":"hello","version":1}"#);
        let msg = ServerMsg::Hello {
            version: PROTOCOL_VERSION,
            daemon: info(),
        };
        let mut out = serde_json::to_vec(&msg).unwrap();
        out.push(b'\n');
        wr.write_all(&out).await.unwrap();
        let req = lines.next_line().await.unwrap().unwrap();
        let mut out = serde_json::to_vec(&ServerMsg::Error { message: req }).unwrap();
        out.push(b'\n');
        wr.write_all(&out).await.unwrap();
    }

    #[tokio::test]
    async fn reports_disconnects_and_reconnects_when_the_daemon_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let (to_app, mut from_client) = mpsc::channel(16);
        let (req_tx, req_rx) = mpsc::channel(16);
        let client = tokio::spawn(run(path.clone(), to_app, req_rx));
        // No daemon yet.
        assert!(matches!(next(&mut from_client).await, Msg::Disconnected(_)));
        for _round in 0..2 {
            let listener = UnixListener::bind(&path).unwrap();
            let daemon = fake_daemon(&listener);
            let app = async {
                loop {
                    match next(&mut from_client).await {
                        Msg::Connected(d) => {
                            assert_eq!(d, info());
                            break;
                        }
                        Msg::Disconnected(_) => continue,
                        other => panic!("{other:?}"),
                    }
                }
                req_tx.send(ClientMsg::Snapshot).await.unwrap();
                match next(&mut from_client).await {
                    Msg::Server(ServerMsg::Error { message }) => {
                        assert_eq!(message, r#"{"type":"snapshot"}"#)
                    }
                    other => panic!("{other:?}"),
                }
                assert!(matches!(next(&mut from_client).await, Msg::Disconnected(_)));
            };
            tokio::join!(daemon, app);
            drop(listener);
            std::fs::remove_file(&path).unwrap();
        }
        drop(from_client);
        client.abort();
    }

    #[tokio::test]
    async fn a_version_mismatch_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (to_app, mut from_client) = mpsc::channel(16);
        let (_req_tx, req_rx) = mpsc::channel(16);
        let client = tokio::spawn(run(path.clone(), to_app, req_rx));
        let (stream, _) = listener.accept().await.unwrap();
        let (_rd, mut wr) = stream.into_split();
        let refusal = ServerMsg::Error {
            message: "protocol version 1 is not supported".into(),
        };
        let mut out = serde_json::to_vec(&refusal).unwrap();
        out.push(b'\n');
        wr.write_all(&out).await.unwrap();
        match next(&mut from_client).await {
            Msg::Disconnected(reason) => assert!(reason.contains("not supported"), "{reason}"),
            other => panic!("{other:?}"),
        }
        client.abort();
    }
}
