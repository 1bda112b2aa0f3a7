//! What every adapter's `Client` is made of, written once.

use std::time::Duration;

/// Default timeout of every adapter's `send_frame`.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Defines an adapter's `Client<H>` (a newtype around [`ClientHandle`] that dereferences to
/// it) and its `ContextExt` (the client from a callback's context): the same in every adapter,
/// written once.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_client {
    () => {
        /// A handle to a running client (WebSockex's pid): `Clone + Send + Sync`. It
        /// dereferences to the runtime-neutral [`ClientHandle`](wsx_proto::ClientHandle) for
        /// `cast`, `close`, `close_with`, `status`, `stats` and `buffered_bytes`.
        pub struct Client<H: $crate::Handler> {
            pub(crate) handle: $crate::ClientHandle<H>,
        }

        impl<H: $crate::Handler> Clone for Client<H> {
            fn clone(&self) -> Self {
                Self {
                    handle: self.handle.clone(),
                }
            }
        }

        impl<H: $crate::Handler> ::std::fmt::Debug for Client<H> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.handle, f)
            }
        }

        impl<H: $crate::Handler> ::std::ops::Deref for Client<H> {
            type Target = $crate::ClientHandle<H>;

            fn deref(&self) -> &$crate::ClientHandle<H> {
                &self.handle
            }
        }

        /// Reaching this adapter's [`Client`] from a callback's context.
        pub trait ContextExt<H: $crate::Handler> {
            /// The running client's handle, e.g. to give to another task or thread.
            fn client(&self) -> Client<H>;
        }

        impl<H: $crate::Handler> ContextExt<H> for $crate::Context<'_, H> {
            fn client(&self) -> Client<H> {
                Client {
                    handle: self.handle().clone(),
                }
            }
        }
    };
}
