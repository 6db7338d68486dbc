//! The layer's response body: the service's own, a replacement, or a filtered stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::BoxError;
use super::sse::SseFilter;

pin_project_lite::pin_project! {
    /// Response body of [`AuthzService`](super::AuthzService).
    pub struct AuthzBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Pass { #[pin] body: B },
        Full { data: Option<Bytes> },
        Sse { #[pin] body: SseFilter<B> },
    }
}

impl<B> AuthzBody<B> {
    pub(crate) fn pass(body: B) -> Self {
        Self {
            kind: Kind::Pass { body },
        }
    }

    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Full {
                data: Some(data.into()),
            },
        }
    }

    pub(crate) fn sse(body: SseFilter<B>) -> Self {
        Self {
            kind: Kind::Sse { body },
        }
    }
}

impl<B> Body for AuthzBody<B>
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
        match self.project().kind.project() {
            KindProj::Pass { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::Full { data } => Poll::Ready(
                data.take()
                    .filter(|d| !d.is_empty())
                    .map(|d| Ok(Frame::data(d))),
            ),
            KindProj::Sse { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Pass { body } => body.is_end_stream(),
            Kind::Full { data } => data.as_ref().is_none_or(Bytes::is_empty),
            Kind::Sse { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Pass { body } => body.size_hint(),
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Sse { .. } => SizeHint::default(),
        }
    }
}
