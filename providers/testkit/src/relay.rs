//! A TCP relay on loopback for servers that do not speak HTTP (a directory server's LDAP),
//! where the fault proxy cannot go: it forwards bytes both ways, holds each chunk the client
//! sends for a while when told to slow down, closes every connection at once when told to
//! refuse, and cuts the connections open when told to sever them (a network drop, a server
//! restart behind a load balancer).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the relay does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relaying {
    /// Forward every chunk, waiting this many milliseconds before each one from the client.
    Forward { delay_ms: u64 },
    /// Close each connection as soon as it is accepted.
    Refuse,
}

/// A running relay, stopped when dropped.
pub struct TcpRelay {
    url: String,
    /// `u64::MAX` refuses; any other value is the delay in milliseconds.
    mode: Arc<AtomicU64>,
    /// Bumped by [`TcpRelay::sever`]; each connection ends when it changes.
    severed: tokio::sync::watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl TcpRelay {
    /// Relays to the server of `upstream` (`scheme://host:port`); [`TcpRelay::url`] is the
    /// same URL with the relay's port.
    pub async fn start(upstream: &str, relaying: Relaying) -> std::io::Result<TcpRelay> {
        let (scheme, rest) = upstream
            .split_once("://")
            .ok_or_else(|| std::io::Error::other("the upstream must be scheme://host:port"))?;
        let target = rest.trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let mode = Arc::new(AtomicU64::new(0));
        let relay_mode = mode.clone();
        let (severed, _) = tokio::sync::watch::channel(0u64);
        let relay_severed = severed.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (mode, target) = (relay_mode.clone(), target.clone());
                let mut severed = relay_severed.subscribe();
                tokio::spawn(async move {
                    if mode.load(Ordering::Relaxed) == u64::MAX {
                        drop(client);
                        return;
                    }
                    if let Ok(server) = TcpStream::connect(&target).await {
                        // Dropping both sockets closes them: the client sees its connection
                        // end, as when a network drops it.
                        tokio::select! {
                            _ = relay(client, server, mode) => {}
                            _ = severed.changed() => {}
                        }
                    }
                });
            }
        });
        let relay = TcpRelay {
            url,
            mode,
            severed,
            task,
        };
        relay.set(relaying);
        Ok(relay)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Changes what the relay does from now on (connections open keep their delay current).
    pub fn set(&self, relaying: Relaying) {
        let value = match relaying {
            Relaying::Forward { delay_ms } => delay_ms.min(u64::MAX - 1),
            Relaying::Refuse => u64::MAX,
        };
        self.mode.store(value, Ordering::Relaxed);
    }
}

impl TcpRelay {
    /// Closes every connection open now; later ones are relayed as before.
    pub fn sever(&self) {
        self.severed.send_modify(|n| *n += 1);
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.severed.receiver_count()
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, mode: Arc<AtomicU64>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = mode.load(Ordering::Relaxed);
            if delay == u64::MAX {
                break;
            }
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_and_refuses() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 16];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 || s.write_all(&b[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let relay = TcpRelay::start(
            &format!("ldap://{echo_addr}"),
            Relaying::Forward { delay_ms: 0 },
        )
        .await
        .unwrap();
        assert!(relay.url().starts_with("ldap://127.0.0.1:"));
        let addr = relay.url().trim_start_matches("ldap://").to_string();
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"ping");

        relay.set(Relaying::Refuse);
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let _ = s.write_all(b"ping").await;
        let mut rest = Vec::new();
        assert_eq!(
            s.read_to_end(&mut rest).await.unwrap_or(0),
            0,
            "closed at once"
        );
    }
}
