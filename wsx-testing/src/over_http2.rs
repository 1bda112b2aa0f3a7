//! The behaviour suite over HTTP/2: [`OverHttp2<A>`] starts `A`'s clients with
//! `Http2::Require` through an RFC 8441 front ([`H2Front`], h2c) that carries each stream to the
//! scenario's own HTTP/1.1 server, so every scenario's scripted server, misbehaviours
//! included, is reached over an HTTP/2 stream unchanged.

use std::marker::PhantomData;
use std::sync::OnceLock;

use wsx_proto::config::IntoConnectSettings;
use wsx_proto::error::UrlError;
use wsx_proto::http2::Http2;
use wsx_proto::{ConnectSettings, Context, Error, Handler};

use crate::h2front::{FrontOptions, H2Front};
use crate::harness::{TestAdapter, TestOptions};

/// `A` over HTTP/2 (see the module).
#[derive(Debug)]
pub struct OverHttp2<A>(PhantomData<fn() -> A>);

/// The front every scenario's clients go through: one per test process, each stream carried
/// to the server its request names (`x-wsx-backend`).
fn front() -> &'static H2Front {
    static FRONT: OnceLock<H2Front> = OnceLock::new();
    // Scenarios send floods of small frames to servers that read slowly: room for them
    // in h2's allowance for small unread DATA frames.
    FRONT.get_or_init(|| H2Front::start(FrontOptions::default().data_frame_budget(64 << 20)))
}

/// `settings`, sent through the front to the server they name.
fn through_front(settings: ConnectSettings) -> Result<ConnectSettings, UrlError> {
    let url = settings.url();
    let backend = format!("{}:{}", url.host().replace("localhost", "127.0.0.1"), url.port());
    let mut routed = ConnectSettings::new(&format!("ws://{}{}", front().addr(), url.resource()))?;
    routed.request.headers = settings.request.headers.clone();
    routed.request.subprotocols = settings.request.subprotocols.clone();
    routed.request.extensions = settings.request.extensions.clone();
    routed.config = settings.config.clone();
    routed.connect_timeout = settings.connect_timeout;
    routed.tcp_nodelay = settings.tcp_nodelay;
    Ok(routed.header("x-wsx-backend", backend).no_proxy().http2(Http2::Require))
}

impl<A: TestAdapter> TestAdapter for OverHttp2<A> {
    type Client<H: Handler> = A::Client<H>;

    fn start<H: Handler>(
        settings: impl IntoConnectSettings,
        handler: H,
        options: TestOptions,
    ) -> Result<A::Client<H>, Error> {
        A::start(through_front(settings.into_connect_settings()?)?, handler, options)
    }

    fn client_from_context<H: Handler>(ctx: &Context<'_, H>) -> A::Client<H> {
        A::client_from_context(ctx)
    }

    fn live_tasks() -> Option<usize> {
        A::live_tasks()
    }
}
