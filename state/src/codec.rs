//! Encoding of documents and records with every sensitive value sealed, and decoding back.

use serde_json::{Map, Value};

use crate::document::{FORMAT_VERSION, OutputState, ResourceState, StateDocument};
use crate::{Sealer, StateError};

const SEALED: &str = "$sealed";

fn context(stack: &str, addr: &str, pointer: &str) -> String {
    format!("{stack}/{addr}{pointer}")
}

/// Serializes a resource record, sealing the values at its sensitive pointers.
pub(crate) fn seal_resource(
    stack: &str,
    addr: &str,
    res: &ResourceState,
    sealer: Option<&Sealer>,
) -> Result<Value, StateError> {
    let mut value = serde_json::to_value(res).expect("resource state serializes");
    for pointer in &res.sensitive {
        let Some(slot) = value.pointer_mut(pointer) else {
            continue;
        };
        if slot.is_null() {
            continue;
        }
        let sealer = sealer.ok_or_else(|| StateError::KeyRequired {
            stack: stack.to_string(),
        })?;
        let plain = serde_json::to_vec(slot).expect("json value serializes");
        let sealed = sealer.seal(&context(stack, addr, pointer), &plain)?;
        *slot = sealed_value(sealed);
    }
    Ok(value)
}

fn sealed_value(sealed: String) -> Value {
    let mut m = Map::new();
    m.insert(SEALED.to_string(), Value::String(sealed));
    Value::Object(m)
}

fn as_sealed(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get(SEALED).and_then(Value::as_str),
        _ => None,
    }
}

/// Parses a resource record, opening its sealed values.
pub(crate) fn open_resource(
    stack: &str,
    addr: &str,
    mut value: Value,
    sealer: Option<&Sealer>,
) -> Result<ResourceState, StateError> {
    let pointers: Vec<String> = value
        .get("sensitive")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for pointer in pointers {
        let Some(slot) = value.pointer_mut(&pointer) else {
            continue;
        };
        let Some(sealed) = as_sealed(slot) else {
            continue;
        };
        let sealer = sealer.ok_or_else(|| StateError::KeyRequired {
            stack: stack.to_string(),
        })?;
        let plain = sealer.open(stack, &context(stack, addr, &pointer), sealed)?;
        *slot = serde_json::from_slice(&plain).map_err(|e| StateError::Seal {
            action: "open",
            address: addr.to_string(),
            reason: e.to_string(),
        })?;
    }
    serde_json::from_value(value).map_err(|e| StateError::Corrupt {
        stack: stack.to_string(),
        location: addr.to_string(),
        reason: e.to_string(),
    })
}

pub(crate) fn seal_output(
    stack: &str,
    name: &str,
    out: &OutputState,
    sealer: Option<&Sealer>,
) -> Result<Value, StateError> {
    let mut value = serde_json::to_value(out).expect("output serializes");
    if out.sensitive && !out.value.is_null() {
        let sealer = sealer.ok_or_else(|| StateError::KeyRequired {
            stack: stack.to_string(),
        })?;
        let plain = serde_json::to_vec(&out.value).expect("json value serializes");
        let sealed = sealer.seal(&context(stack, &format!("output.{name}"), ""), &plain)?;
        value["value"] = sealed_value(sealed);
    }
    Ok(value)
}

pub(crate) fn open_output(
    stack: &str,
    name: &str,
    mut value: Value,
    sealer: Option<&Sealer>,
) -> Result<OutputState, StateError> {
    if let Some(sealed) = value.get("value").and_then(as_sealed) {
        let sealer = sealer.ok_or_else(|| StateError::KeyRequired {
            stack: stack.to_string(),
        })?;
        let plain = sealer.open(
            stack,
            &context(stack, &format!("output.{name}"), ""),
            sealed,
        )?;
        value["value"] = serde_json::from_slice(&plain).map_err(|e| StateError::Seal {
            action: "open",
            address: format!("output.{name}"),
            reason: e.to_string(),
        })?;
    }
    serde_json::from_value(value).map_err(|e| StateError::Corrupt {
        stack: stack.to_string(),
        location: format!("output.{name}"),
        reason: e.to_string(),
    })
}

/// Checks the format version of a raw document before anything else is parsed.
pub(crate) fn check_format(stack: &str, location: &str, value: &Value) -> Result<(), StateError> {
    let Some(found) = value.get("format_version").and_then(Value::as_u64) else {
        return Err(StateError::Corrupt {
            stack: stack.to_string(),
            location: location.to_string(),
            reason: "no format_version field".into(),
        });
    };
    if found > u64::from(FORMAT_VERSION) {
        return Err(StateError::NewerFormat {
            stack: stack.to_string(),
            found: found as u32,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Encodes a whole document as JSON with every sensitive value sealed.
pub fn encode_document(
    doc: &StateDocument,
    sealer: Option<&Sealer>,
) -> Result<Vec<u8>, StateError> {
    let mut resources = Map::new();
    for (addr, res) in &doc.resources {
        resources.insert(addr.clone(), seal_resource(&doc.stack, addr, res, sealer)?);
    }
    let mut outputs = Map::new();
    for (name, out) in &doc.outputs {
        outputs.insert(name.clone(), seal_output(&doc.stack, name, out, sealer)?);
    }
    let mut top = Map::new();
    top.insert("format_version".into(), doc.format_version.into());
    top.insert("lineage".into(), doc.lineage.to_string().into());
    top.insert("serial".into(), doc.serial.into());
    top.insert("stack".into(), doc.stack.clone().into());
    top.insert("engine_version".into(), doc.engine_version.clone().into());
    top.insert("resources".into(), Value::Object(resources));
    top.insert("outputs".into(), Value::Object(outputs));
    Ok(serde_json::to_vec_pretty(&Value::Object(top)).expect("document serializes"))
}

/// Decodes a document written by [`encode_document`], opening sealed values.
pub fn decode_document(
    stack: &str,
    location: &str,
    bytes: &[u8],
    sealer: Option<&Sealer>,
) -> Result<StateDocument, StateError> {
    let corrupt = |reason: String| StateError::Corrupt {
        stack: stack.to_string(),
        location: location.to_string(),
        reason,
    };
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    check_format(stack, location, &value)?;
    if !value.is_object() {
        return Err(corrupt("not a JSON object".into()));
    }
    let obj = value.as_object_mut().expect("checked above");
    let resources = match obj.remove("resources") {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return Err(corrupt("`resources` is not an object".into())),
    };
    let outputs = match obj.remove("outputs") {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return Err(corrupt("`outputs` is not an object".into())),
    };
    let mut doc: StateDocument =
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    let doc_stack = doc.stack.clone();
    for (addr, v) in resources {
        let res = open_resource(&doc_stack, &addr, v, sealer)?;
        doc.resources.insert(addr, res);
    }
    for (name, v) in outputs {
        let out = open_output(&doc_stack, &name, v, sealer)?;
        doc.outputs.insert(name, out);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeySource;
    use serde_json::json;

    #[test]
    fn secrets_are_sealed_on_disk_and_opened_back() {
        let sealer = Sealer::new(&KeySource::Raw([1; 32])).unwrap();
        let mut doc = StateDocument::new("s");
        let mut res = ResourceState {
            kind: "random_password".into(),
            id: Some("x".into()),
            config: json!({"length": 20}),
            attributes: json!({"result": "super-secret-value"}),
            dependencies: vec![],
            status: Default::default(),
            sensitive: Default::default(),
        };
        res.sensitive.insert("/attributes/result".into());
        doc.resources.insert("pw".into(), res);
        doc.outputs.insert(
            "pw".into(),
            OutputState {
                value: json!("super-secret-value"),
                sensitive: true,
            },
        );
        let bytes = encode_document(&doc, Some(&sealer)).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("super-secret-value"), "{text}");
        let back = decode_document("s", "mem", &bytes, Some(&sealer)).unwrap();
        assert_eq!(back, doc);
        assert!(matches!(
            encode_document(&doc, None),
            Err(StateError::KeyRequired { .. })
        ));
    }

    #[test]
    fn newer_format_is_refused() {
        let bytes = br#"{"format_version": 99, "lineage": "x"}"#;
        let err = decode_document("s", "mem", bytes, None).unwrap_err();
        assert!(matches!(err, StateError::NewerFormat { found: 99, .. }));
        let err = decode_document("s", "mem", b"{not json", None).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }));
    }
}
