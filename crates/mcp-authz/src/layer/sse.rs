//! Streaming filter for `text/event-stream` bodies: event by event, never
//! buffering more than the event being read.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};

use super::BoxError;
use super::filter::{Expect, Filterer};

pin_project_lite::pin_project! {
    /// Re-frames SSE events whose JSON-RPC payload was filtered; passes every
    /// other event through byte for byte.
    pub(crate) struct SseFilter<B> {
        #[pin]
        inner: B,
        buf: BytesMut,
        // Where the first unterminated line of `buf` starts.
        scan: usize,
        filterer: Arc<Filterer>,
        expect: Expect,
        max_event: usize,
        done: bool,
    }
}

impl<B> SseFilter<B> {
    pub(crate) fn new(inner: B, filterer: Arc<Filterer>, expect: Expect, max_event: usize) -> Self {
        Self {
            inner,
            buf: BytesMut::new(),
            scan: 0,
            filterer,
            expect,
            max_event,
            done: false,
        }
    }
}

/// The length of the first complete event in `buf` (through its blank line),
/// scanning lines from `*scan`; updates `*scan` when more data is needed.
fn event_end(buf: &[u8], scan: &mut usize, eof: bool) -> Option<usize> {
    let mut pos = *scan;
    loop {
        let Some(off) = buf[pos..].iter().position(|b| *b == b'\n' || *b == b'\r') else {
            *scan = pos;
            return None;
        };
        let i = pos + off;
        let term = if buf[i] == b'\r' {
            match buf.get(i + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                None if eof => 1,
                // A trailing CR may be the first half of CRLF: wait.
                None => {
                    *scan = pos;
                    return None;
                }
            }
        } else {
            1
        };
        if i == pos {
            *scan = 0;
            return Some(i + term);
        }
        pos = i + term;
    }
}

/// Splits an event into its lines (without terminators).
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&text[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(&text[start..]);
    }
    out
}

fn data_value(line: &str) -> Option<&str> {
    if line == "data" {
        return Some("");
    }
    let v = line.strip_prefix("data:")?;
    Some(v.strip_prefix(' ').unwrap_or(v))
}

/// Filters one event; returns it unchanged unless its JSON-RPC payload changed.
pub(crate) fn process_event(event: Bytes, filterer: &Filterer, expect: &Expect) -> Bytes {
    let Ok(text) = std::str::from_utf8(&event) else {
        return event;
    };
    let lines = lines(text);
    let data: Vec<&str> = lines.iter().filter_map(|l| data_value(l)).collect();
    if data.is_empty() {
        return event;
    }
    let joined = data.join("\n");
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&joined) else {
        return event;
    };
    if !filterer.filter_message(&mut value, expect) {
        return event;
    }
    let mut out = String::with_capacity(event.len());
    let mut wrote_data = false;
    for line in lines.iter().filter(|l| !l.is_empty()) {
        if data_value(line).is_some() {
            if !wrote_data {
                out.push_str("data: ");
                out.push_str(&value.to_string());
                out.push('\n');
                wrote_data = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    Bytes::from(out)
}

impl<B> Body for SseFilter<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if let Some(len) = event_end(this.buf, this.scan, *this.done) {
                let event = this.buf.split_to(len).freeze();
                let out = process_event(event, this.filterer, this.expect);
                return Poll::Ready(Some(Ok(Frame::data(out))));
            }
            if *this.done {
                if this.buf.is_empty() {
                    return Poll::Ready(None);
                }
                // An unterminated last event: clients discard it, but filter it anyway.
                let event = this.buf.split().freeze();
                *this.scan = 0;
                let out = process_event(event, this.filterer, this.expect);
                return Poll::Ready(Some(Ok(Frame::data(out))));
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                        if this.buf.len() > *this.max_event
                            && event_end(this.buf, this.scan, false).is_none()
                        {
                            *this.done = true;
                            this.buf.clear();
                            return Poll::Ready(Some(Err(format!(
                                "an SSE event from the MCP server exceeds {} bytes; stream closed",
                                this.max_event
                            )
                            .into())));
                        }
                    }
                    // Trailers are dropped: SSE has none worth keeping.
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => *this.done = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(s: &str, eof: bool) -> Option<usize> {
        let mut scan = 0;
        event_end(s.as_bytes(), &mut scan, eof)
    }

    #[test]
    fn finds_event_boundaries_for_all_line_endings() {
        assert_eq!(ends("data: a\n\nrest", false), Some(9));
        assert_eq!(ends("data: a\r\n\r\nrest", false), Some(11));
        assert_eq!(ends("data: a\r\rrest", false), Some(9));
        assert_eq!(ends("data: a\n", false), None);
        assert_eq!(ends("data: a\r\n\r", false), None, "CR may start CRLF");
        assert_eq!(ends("data: a\r\n\r", true), Some(10));
        assert_eq!(ends("\n", false), Some(1));
    }

    #[test]
    fn resumes_scanning_where_it_stopped() {
        let mut buf = b"id: 1\ndata: {".to_vec();
        let mut scan = 0;
        assert_eq!(event_end(&buf, &mut scan, false), None);
        assert_eq!(scan, 6);
        buf.extend_from_slice(b"}\n\n");
        assert_eq!(event_end(&buf, &mut scan, false), Some(buf.len()));
    }

    #[test]
    fn splits_lines() {
        assert_eq!(lines("a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(data_value("data:x"), Some("x"));
        assert_eq!(data_value("data: x"), Some("x"));
        assert_eq!(data_value("data"), Some(""));
        assert_eq!(data_value("database: x"), None);
    }
}
