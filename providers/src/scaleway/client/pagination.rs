//! List responses: `page` / `page_size` requests, `total_count` answers, all pages collected.

use serde::de::DeserializeOwned;

/// A list response of a Scaleway API: one page of items and the total across pages.
pub trait Paginated: DeserializeOwned {
    /// The listed item.
    type Item;

    /// `total_count`, or `None` for endpoints that are not paginated (`GET /k8s/…/versions`).
    fn total_count(&self) -> Option<u64>;

    /// The items of this page.
    fn into_items(self) -> Vec<Self::Item>;
}

/// Upper bound on pages fetched by one listing: a server that keeps reporting more items than
/// it returns must not loop forever.
pub const MAX_PAGES: u32 = 1000;

/// Implements [`Paginated`] for a list response struct with a `total_count` field.
macro_rules! paginated {
    ($resp:ty, $field:ident, $item:ty) => {
        impl $crate::scaleway::client::pagination::Paginated for $resp {
            type Item = $item;

            fn total_count(&self) -> Option<u64> {
                Some(self.total_count)
            }

            fn into_items(self) -> Vec<$item> {
                self.$field
            }
        }
    };
    ($resp:ty, $field:ident, $item:ty, unpaginated) => {
        impl $crate::scaleway::client::pagination::Paginated for $resp {
            type Item = $item;

            fn total_count(&self) -> Option<u64> {
                None
            }

            fn into_items(self) -> Vec<$item> {
                self.$field
            }
        }
    };
}

pub(crate) use paginated;

/// Declares a paginated list response: the page's items under the API's field name and
/// `total_count`, decoded leniently (`#[serde(default)]`), with its [`Paginated`] impl.
macro_rules! list_response {
    ($(#[$m:meta])* $name:ident { $(#[$field_m:meta])* $field:ident: Vec<$item:ty> }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, ::serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(#[$field_m])*
            pub $field: Vec<$item>,
            /// Total across pages.
            pub total_count: u64,
        }
        $crate::scaleway::client::pagination::paginated!($name, $field, $item);
    };
}

pub(crate) use list_response;

/// Whether to stop after a page: everything announced was collected, the page was empty
/// (the server's count was stale), or the endpoint is not paginated.
pub(crate) fn is_last_page(total: Option<u64>, collected: usize, page_len: usize) -> bool {
    match total {
        None => true,
        Some(t) => page_len == 0 || collected as u64 >= t,
    }
}
