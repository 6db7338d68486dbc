//! The task that writes audit lines, off the request path.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::error::ProxyError;

/// Lines waiting to be written before new ones are dropped.
const QUEUE: usize = 8192;

/// Opens the file (append, create) and starts the writer; returns its inbox.
pub(crate) async fn spawn_writer(
    stdout: bool,
    file: Option<PathBuf>,
) -> Result<mpsc::Sender<String>, ProxyError> {
    let mut out_file = match &file {
        Some(path) => Some(
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .map_err(|source| ProxyError::Audit {
                    path: path.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        while let Some(mut line) = rx.recv().await {
            line.push('\n');
            if stdout {
                let _ = out.write_all(line.as_bytes()).await;
                let _ = out.flush().await;
            }
            if let Some(f) = &mut out_file
                && let Err(e) = f.write_all(line.as_bytes()).await
            {
                tracing::error!("writing the audit file failed: {e}");
            }
        }
        if let Some(f) = &mut out_file {
            let _ = f.flush().await;
        }
    });
    Ok(tx)
}
