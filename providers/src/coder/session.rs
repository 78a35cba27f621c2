//! One logged-in client per Coder URL and user for the life of a driver (one apply), so an
//! apply logs in once and every template read, push and delete reuses the session token and
//! shares the upload budget.

use std::collections::HashMap;
use std::time::Duration;

use super::client::{CoderClient, CoderError};

/// A Coder URL and a user's email.
type SessionKey = (String, String);

/// Logged-in clients by `(url, email)`, each with a fingerprint of the password it used.
#[derive(Debug, Default)]
pub struct Sessions {
    clients: tokio::sync::Mutex<HashMap<SessionKey, (CoderClient, [u8; 32])>>,
    /// How the clients reach their Coder (the default: system roots and DNS).
    reach: super::CoderReach,
}

fn fingerprint(password: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(password.as_bytes()).into()
}

impl Sessions {
    /// Sessions whose clients reach Coder as `reach` says.
    pub fn with_reach(reach: super::CoderReach) -> Sessions {
        Sessions {
            reach,
            ..Sessions::default()
        }
    }

    /// The session of `email` on the Coder at `url`: waits for Coder and logs in the first
    /// time (or when the password changed), then hands out the same client.
    pub async fn client(
        &self,
        url: &str,
        email: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<CoderClient, CoderError> {
        let key = (url.trim_end_matches('/').to_string(), email.to_string());
        let mut clients = self.clients.lock().await;
        if let Some((c, fp)) = clients.get(&key)
            && *fp == fingerprint(password)
        {
            return Ok(c.clone());
        }
        let client = CoderClient::with_reach(url, &self.reach)?;
        client.wait_healthy(timeout).await?;
        client.login(email, password).await?;
        clients.insert(key, (client.clone(), fingerprint(password)));
        Ok(client)
    }
}
