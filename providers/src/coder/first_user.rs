//! `coder_first_user`: the deployment's first (owner) account, created with
//! `POST /api/v2/users/first`. A deployment that already has its first user is adopted when
//! the configured credentials log in, never recreated.

use std::time::Duration;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, Schema, Update, async_trait,
};
use serde_json::{Value, json};

use super::client::{CoderClient, CoderError, is_ambiguous};
use super::rules::{self, Rule};

crate::declare::kind! {
    /// The first Coder user (owner).
    #[derive(Default)]
    pub struct CoderFirstUser = "coder_first_user";
    /// Coder access URL.
    url: Input<String>, required force_new => "Coder access URL", attribute;
    /// Email; changing it replaces the user.
    email: String, required force_new => "email of the owner", attribute;
    /// Username; changing it replaces the user.
    username: String, required force_new => "username of the owner";
    /// Password (sensitive; e.g. a `random_password` result).
    password: Input<String>, required sensitive force_new => "password of the owner", attribute;
    /// Display name.
    name: Option<String>, optional => "display name";
    /// How long to wait for Coder to answer (300 s when absent).
    timeout_seconds: Option<u64>, optional => "how long to wait for Coder (300)";
    /// The user id.
    computed user_id: String => "the user's id";
    /// The default organization id.
    computed organization_id: String => "the default organization's id";
    computed "adopted" => "whether an existing first user was adopted";
    /// Attributes of a `coder_first_user`; the id is the user id.
    attributes CoderFirstUserAttributes;
}

crate::declare::schema_driver! {
    /// The `coder_first_user` driver.
    CoderFirstUserDriver for CoderFirstUser {
        /// How its calls reach Coder.
        reach: super::CoderReach,
    }
}

impl CoderFirstUserDriver {
    /// The driver, its calls reaching Coder as `reach` says.
    pub fn with_reach(reach: super::CoderReach) -> Self {
        Self {
            reach,
            ..Self::new()
        }
    }
}

pub(crate) fn coder_err(e: CoderError) -> DriverError {
    match e {
        CoderError::Unreachable { url, after, last } => DriverError::Timeout {
            what: format!("Coder at {url} to answer /healthz (last: {last})"),
            after,
        },
        e => DriverError::failed(e.to_string()),
    }
}

/// Logs in as the existing owner: `(user id, default organization id, adopted)`.
async fn adopt(
    client: &CoderClient,
    url: &str,
    email: &str,
    password: &str,
) -> Result<(String, String, bool), DriverError> {
    client.login(email, password).await.map_err(|e| {
        DriverError::failed(format!(
            "Coder at {url} already has its first user and {email} cannot log in with the configured password ({e}); set the password of the existing owner or reset the deployment"
        ))
    })?;
    let me = client.me().await.map_err(coder_err)?;
    let org = client.default_organization().await.map_err(coder_err)?;
    Ok((
        me["id"].as_str().unwrap_or_default().to_string(),
        org.unwrap_or_default(),
        true,
    ))
}

fn timeout(config: &Value) -> Duration {
    Duration::from_secs(config["timeout_seconds"].as_u64().unwrap_or(300))
}

#[async_trait]
impl Driver for CoderFirstUserDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        // A password from a reference (a random_password) is checked again before the call.
        rules::check_config(
            config,
            &[
                ("email", Rule::Email),
                ("username", Rule::Name("username")),
                ("name", Rule::DisplayName),
                ("password", Rule::Password),
            ],
            errors,
        );
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let url = recorded.config["url"].as_str().unwrap_or_default();
        let client = CoderClient::with_reach(url, &self.reach).map_err(coder_err)?;
        if !client.has_first_user().await.map_err(coder_err)? {
            return Ok(None);
        }
        Ok(Some(recorded.attributes.clone()))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let url = config["url"].as_str().unwrap_or_default();
        let email = config["email"].as_str().unwrap_or_default();
        let username = config["username"].as_str().unwrap_or_default();
        let password = config["password"].as_str().unwrap_or_default();
        if let Some(problem) = rules::check_password("password", password) {
            return Err(DriverError::failed(format!(
                "coder_first_user: {problem}; nothing was sent to Coder"
            )));
        }
        let client = CoderClient::with_reach(url, &self.reach).map_err(coder_err)?;
        ctx.progress(format!("waiting for Coder at {url}"));
        client
            .wait_healthy(timeout(config))
            .await
            .map_err(coder_err)?;
        // A create whose answer is a 5xx or lost may have happened: look again before
        // repeating it, and adopt the owner it created.
        let mut attempts = 0;
        let (user_id, org_id, adopted) = loop {
            attempts += 1;
            if client.has_first_user().await.map_err(coder_err)? {
                break adopt(&client, url, email, password).await?;
            }
            let name = config["name"].as_str().unwrap_or_default();
            match client
                .create_first_user(email, username, password, name)
                .await
            {
                Ok((u, o)) => break (u, o, false),
                Err(e) if is_ambiguous(&e) && attempts < 5 => {
                    tokio::time::sleep(Duration::from_millis(250 * attempts)).await;
                }
                Err(e) => return Err(coder_err(e)),
            }
        };
        let mut attributes = config.clone();
        attributes["user_id"] = json!(user_id);
        attributes["organization_id"] = json!(org_id);
        attributes["adopted"] = json!(adopted);
        Ok(Created {
            id: user_id,
            attributes,
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        // Only the display name and the timeout update in place; nothing to call.
        let mut attributes = update.recorded.attributes.clone();
        for k in ["name", "timeout_seconds"] {
            attributes[k] = update.config[k].clone();
        }
        Ok(attributes)
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        _recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        // The owner account is not deleted through the API: it is forgotten, and Coder's data
        // goes with its database.
        Ok(())
    }

    // Creation is adopt-or-create: running it again is safe.
    fn create_adopts(&self) -> bool {
        true
    }
}
