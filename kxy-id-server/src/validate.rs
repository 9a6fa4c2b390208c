//! Request body validation with FastAPI's 422 answers (`{"detail": [...]}`, each naming the field).

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// Reads fields out of a JSON object body, collecting every problem before answering.
#[derive(Debug)]
pub(crate) struct Fields {
    /// The parsed body.
    obj: Map<String, Value>,
    /// Problems found so far, in FastAPI's format.
    problems: Vec<Value>,
    /// Where the object sits in the body (`["body"]`, or `["body", "items", 3]` for an item of
    /// a batch): the start of every problem's `loc`.
    at: Vec<Value>,
}

/// Fields whose values are never echoed in a 422.
const SECRET_FIELDS: &[&str] = &["password", "db_password"];

/// What a 422 shows instead of a secret.
const REDACTED: &str = "[redacted]";

fn problem(at: &[Value], kind: &str, field: &str, msg: impl Into<String>, input: Value) -> Value {
    let input = if SECRET_FIELDS.contains(&field) {
        Value::String(REDACTED.into())
    } else {
        redacted(input)
    };
    let mut loc = at.to_vec();
    loc.push(Value::String(field.to_owned()));
    json!({"type": kind, "loc": loc, "msg": msg.into(), "input": input})
}

/// `value` with the secret fields of an object replaced.
fn redacted(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        for (k, v) in map.iter_mut() {
            if SECRET_FIELDS.contains(&k.as_str()) {
                *v = Value::String(REDACTED.into());
            }
        }
    }
    value
}

impl Fields {
    /// Parses `body` as a JSON object; anything else is a 422 at once.
    pub(crate) fn parse(body: &[u8]) -> Result<Fields, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(obj)) => Ok(Fields::object(obj, vec![json!("body")])),
            Ok(other) => Err(ApiError::Unprocessable(vec![json!({
                "type": "model_attributes_type", "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from", "input": other
            })])),
            Err(e) => Err(ApiError::Unprocessable(vec![json!({
                "type": "json_invalid", "loc": ["body", e.column()],
                "msg": "JSON decode error", "input": {}, "ctx": {"error": e.to_string()}
            })])),
        }
    }

    /// Fields of an object found at `at` in the body (its problems' `loc` start there).
    pub(crate) fn object(obj: Map<String, Value>, at: Vec<Value>) -> Fields {
        Fields {
            obj,
            problems: Vec::new(),
            at,
        }
    }

    /// The problems found so far, leaving none.
    pub(crate) fn take_problems(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.problems)
    }

    fn missing(&mut self, field: &str) {
        let input = Value::Object(self.obj.clone());
        self.problems
            .push(problem(&self.at, "missing", field, "Field required", input));
    }

    /// A required string of `min..=max` characters.
    pub(crate) fn string(&mut self, field: &str, min: usize, max: usize) -> String {
        match self.obj.get(field).cloned() {
            None => {
                self.missing(field);
                String::new()
            }
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min {
                    let msg = format!(
                        "String should have at least {min} character{}",
                        if min == 1 { "" } else { "s" }
                    );
                    self.problems.push(problem(
                        &self.at,
                        "string_too_short",
                        field,
                        msg,
                        Value::String(s.clone()),
                    ));
                } else if n > max {
                    let msg = format!("String should have at most {max} characters");
                    self.problems.push(problem(
                        &self.at,
                        "string_too_long",
                        field,
                        msg,
                        Value::String(s.clone()),
                    ));
                }
                s
            }
            Some(other) => {
                self.problems.push(problem(
                    &self.at,
                    "string_type",
                    field,
                    "Input should be a valid string",
                    other,
                ));
                String::new()
            }
        }
    }

    /// Refuses `value` of `field` past `max` bytes (bcrypt reads only 72 and ignores the rest).
    pub(crate) fn at_most_bytes(&mut self, field: &str, value: &str, max: usize) {
        if value.len() > max {
            self.problems.push(problem(
                &self.at,
                "string_too_long",
                field,
                format!("String should have at most {max} bytes"),
                Value::Null,
            ));
        }
    }

    /// A required list (its items, taken out of the body); `None` after noting the problem.
    pub(crate) fn list(&mut self, field: &str) -> Option<Vec<Value>> {
        match self.obj.get_mut(field).map(Value::take) {
            None => {
                self.missing(field);
                None
            }
            Some(Value::Array(items)) => Some(items),
            Some(other) => {
                self.problems.push(problem(
                    &self.at,
                    "list_type",
                    field,
                    "Input should be a valid list",
                    other,
                ));
                None
            }
        }
    }

    /// An optional string (absent or null is `None`) of at most `max` characters.
    pub(crate) fn opt_string(&mut self, field: &str, max: usize) -> Option<String> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.string(field, 0, max)),
        }
    }

    /// An integer in `min..=max`, `default` when absent (required when `default` is `None`).
    /// Integral floats and numeric strings are accepted, as pydantic's lax mode does.
    pub(crate) fn int(&mut self, field: &str, min: i64, max: i64, default: Option<i64>) -> i64 {
        let raw = match self.obj.get(field).cloned() {
            None => {
                return match default {
                    Some(d) => d,
                    None => {
                        self.missing(field);
                        0
                    }
                };
            }
            Some(v) => v,
        };
        let parsed = match &raw {
            // An integral float inside i64 (`1e18`) is that integer, as in pydantic.
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            }),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(value) = parsed else {
            let too_big = matches!(&raw, Value::Number(n) if n.as_u64().is_some() || n.as_f64().is_some_and(|f| f.fract() == 0.0))
                || matches!(&raw, Value::String(s) if s.trim().bytes().all(|b| b.is_ascii_digit() || b == b'-') && !s.trim().is_empty());
            let (kind, msg) = if too_big {
                (
                    "int_too_big",
                    "Input should be less than or equal to 9223372036854775807".to_string(),
                )
            } else {
                ("int_parsing", "Input should be a valid integer".to_string())
            };
            self.problems.push(problem(&self.at, kind, field, msg, raw));
            return 0;
        };
        if value < min {
            self.problems.push(problem(
                &self.at,
                "greater_than_equal",
                field,
                format!("Input should be greater than or equal to {min}"),
                raw,
            ));
        } else if value > max {
            self.problems.push(problem(
                &self.at,
                "less_than_equal",
                field,
                format!("Input should be less than or equal to {max}"),
                raw,
            ));
        }
        value
    }

    /// A required string that must be one of `allowed`.
    pub(crate) fn one_of(&mut self, field: &str, allowed: &[&str]) -> String {
        let before = self.problems.len();
        let s = self.string(field, 0, 100);
        if self.problems.len() == before && !allowed.contains(&s.as_str()) {
            let list = allowed
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ");
            self.problems.push(problem(
                &self.at,
                "enum",
                field,
                format!("Input should be {list}"),
                Value::String(s.clone()),
            ));
        }
        s
    }

    /// `Ok` when every field was fine, else the 422 with every problem.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(self.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_names_its_field() {
        let mut f = Fields::parse(br#"{"a": 5, "n": 0, "s": "x"}"#).unwrap();
        f.string("a", 1, 10);
        f.string("missing", 1, 10);
        f.int("n", 1, i64::MAX, Some(10));
        f.string("s", 3, 10);
        let Err(ApiError::Unprocessable(p)) = f.finish() else {
            panic!()
        };
        let locs: Vec<_> = p
            .iter()
            .map(|p| p["loc"][1].as_str().unwrap().to_string())
            .collect();
        assert_eq!(locs, ["a", "missing", "n", "s"]);
    }

    #[test]
    fn integers_are_bounded_and_lax() {
        let mut f = Fields::parse(br#"{"a": 9223372036854775807, "b": "12", "c": 3.0, "d": 9223372036854775808, "e": 1.5}"#).unwrap();
        assert_eq!(f.int("a", 1, i64::MAX, None), i64::MAX);
        assert_eq!(f.int("b", 1, i64::MAX, None), 12);
        assert_eq!(f.int("c", 1, i64::MAX, None), 3);
        assert_eq!(f.int("absent", 1, i64::MAX, Some(10000)), 10000);
        f.int("d", 1, i64::MAX, None);
        f.int("e", 1, i64::MAX, None);
        let Err(ApiError::Unprocessable(p)) = f.finish() else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        assert_eq!(p[0]["type"], "int_too_big");
        assert_eq!(p[1]["type"], "int_parsing");
    }

    #[test]
    fn malformed_json_is_422() {
        assert!(matches!(
            Fields::parse(b"{not json"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            Fields::parse(b"[1]"),
            Err(ApiError::Unprocessable(_))
        ));
    }
}
