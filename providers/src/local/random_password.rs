//! `random_password`: a password generated once at create time and sealed in state.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, Schema, Update, async_trait,
};
use rand::RngExt;
use serde_json::{Value, json};

crate::declare::kind! {
    /// A generated password. Changing any setting generates a new one.
    pub struct RandomPassword = "random_password";
    /// Number of characters (8 to 256).
    length: Input<u32>, required force_new => "number of characters, 8 to 256";
    /// Include special characters.
    #[serde(default = "yes")]
    special: bool, optional force_new => "include special characters";
    /// Characters allowed as specials (default `!#$%&*()-_=+[]{}<>:?`).
    override_special: Option<String>, optional force_new => "the special characters allowed";
    /// Minimum count of digits.
    #[serde(default)]
    min_numeric: u32, optional force_new => "minimum number of digits";
    /// Arbitrary values that force a new password when they change.
    keepers: Option<Value>, optional force_new => "values whose change forces a new password";
    /// The generated password (sensitive).
    computed result: String, sensitive => "the generated password";
    /// Attributes of a `random_password`.
    attributes RandomPasswordAttributes;
}

crate::declare::schema_driver! {
    /// The `random_password` driver.
    RandomPasswordDriver for RandomPassword
}

fn yes() -> bool {
    true
}

impl Default for RandomPassword {
    fn default() -> Self {
        Self {
            length: Input::Value(32),
            special: true,
            override_special: None,
            min_numeric: 0,
            keepers: None,
        }
    }
}

const DEFAULT_SPECIAL: &str = "!#$%&*()-_=+[]{}<>:?";

fn generate(config: &Value) -> String {
    let length = config["length"].as_u64().unwrap_or(32) as usize;
    let special = config["special"].as_bool().unwrap_or(true);
    let specials = config["override_special"]
        .as_str()
        .unwrap_or(DEFAULT_SPECIAL)
        .to_string();
    let min_numeric = config["min_numeric"].as_u64().unwrap_or(0) as usize;
    let mut alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    if special {
        alphabet.extend(specials.chars());
    }
    let mut rng = rand::rng();
    let mut chars: Vec<char> = (0..length)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect();
    let digits: Vec<char> = ('0'..='9').collect();
    for slot in chars.iter_mut().take(min_numeric.min(length)) {
        *slot = digits[rng.random_range(0..digits.len())];
    }
    // Shuffle so the forced digits are not all at the front.
    for i in (1..chars.len()).rev() {
        let j = rng.random_range(0..=i);
        chars.swap(i, j);
    }
    chars.into_iter().collect()
}

#[async_trait]
impl Driver for RandomPasswordDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        errors.extend(crate::declare::out_of_range(
            config,
            "length",
            8..=256,
            "use a length from 8 to 256",
        ));
        if let (Some(len), Some(min)) = (
            config.get("length").and_then(Value::as_u64),
            config.get("min_numeric").and_then(Value::as_u64),
        ) && min > len
        {
            errors.push(FieldError::new(
                "min_numeric",
                &min.to_string(),
                "is larger than length",
                "lower min_numeric or raise length",
            ));
        }
    }

    fn has_external_effects(&self) -> bool {
        false
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        Ok(Some(recorded.attributes.clone()))
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let mut attributes = config.clone();
        attributes["result"] = json!(generate(config));
        Ok(Created {
            id: "none".into(),
            attributes,
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        let mut attributes = update.config.clone();
        attributes["result"] = update.recorded.attributes["result"].clone();
        Ok(attributes)
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        _recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_the_requested_shape() {
        let p = generate(&json!({"length": 40, "special": false, "min_numeric": 5}));
        assert_eq!(p.chars().count(), 40);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(p.chars().filter(|c| c.is_ascii_digit()).count() >= 5);
    }

    #[test]
    fn rejects_bad_length() {
        let d = RandomPasswordDriver::new();
        let e = d.problems(&json!({"length": 4}));
        assert_eq!(e[0].field, "length");
        assert!(e[0].fix.contains("8 to 256"));
    }
}
