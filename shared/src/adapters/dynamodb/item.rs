//! Items as the table holds them: keys made of parts, timestamps as text that sorts,
//! and the expressions of conditional writes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::corrupt;
use crate::ports::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

/// A key from its parts, joined by `#`. Each part has its `%` and `#` escaped, so no
/// two different lists of parts make the same key (a tenant `a#b` never reads `a`'s).
pub(super) fn key(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.replace('%', "%25").replace('#', "%23"))
        .collect::<Vec<_>>()
        .join("#")
}

/// A timestamp as fixed-width UTC text (nanoseconds, `Z`): text order is time order, so
/// sort keys and conditions compare them as strings.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn parse_ts(what: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, e))
}

/// A sort key that orders by time, then by id: `<ts>#<id>`.
pub(super) fn at_then(t: DateTime<Utc>, id: &str) -> String {
    format!("{}#{}", ts(t), key(&[id]))
}

/// The upper bound of sort keys `at_then(t', …)` with `t' <= t`: every such key is
/// `ts(t')#…`, and `$` sorts right after `#`.
pub(super) fn up_to(t: DateTime<Utc>) -> String {
    format!("{}$", ts(t))
}

/// A feed position as a sort key: zero-padded, so text order is number order.
pub(super) fn position(p: i64) -> String {
    format!("{p:020}")
}

/// Seconds since the epoch, as the table's TTL attribute wants.
pub(super) fn epoch(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The primary key of an item.
pub(super) fn pk(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// An item being written: its key, what kind of item it is (`type`), its attributes.
pub(super) struct Put(Item);

impl Put {
    pub fn new(pk_value: String, sk: &str, kind: &str) -> Self {
        let mut item = pk(pk_value, sk);
        item.insert("type".into(), s(kind));
        Put(item)
    }

    pub fn set(mut self, name: &str, v: AttributeValue) -> Self {
        self.0.insert(name.to_owned(), v);
        self
    }

    pub fn s(self, name: &str, v: impl Into<String>) -> Self {
        self.set(name, s(v))
    }

    /// Left out when `None`: absent is how the table says null.
    pub fn opt_s(self, name: &str, v: Option<impl Into<String>>) -> Self {
        match v {
            Some(v) => self.s(name, v),
            None => self,
        }
    }

    pub fn n(self, name: &str, v: impl ToString) -> Self {
        self.set(name, n(v))
    }

    pub fn opt_n(self, name: &str, v: Option<impl ToString>) -> Self {
        match v {
            Some(v) => self.n(name, v),
            None => self,
        }
    }

    pub fn ts(self, name: &str, t: DateTime<Utc>) -> Self {
        self.s(name, ts(t))
    }

    pub fn opt_ts(self, name: &str, t: Option<DateTime<Utc>>) -> Self {
        self.opt_s(name, t.map(ts))
    }

    pub fn bool(self, name: &str, v: bool) -> Self {
        self.set(name, AttributeValue::Bool(v))
    }

    pub fn item(self) -> Item {
        self.0
    }
}

/// An item read back, its attributes decoded or reported corrupt.
pub(super) struct Got<'a>(pub &'a Item);

impl Got<'_> {
    pub fn opt_s(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(other) => Err(corrupt(name, format!("not text: {other:?}"))),
        }
    }

    pub fn s(&self, name: &str) -> Result<String, StoreError> {
        self.opt_s(name)?.ok_or_else(|| corrupt(name, "missing"))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|e| corrupt(name, e)),
            Some(other) => Err(corrupt(name, format!("not a number: {other:?}"))),
        }
    }

    pub fn i64(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_i64(name)?.ok_or_else(|| corrupt(name, "missing"))
    }

    pub fn i32(&self, name: &str) -> Result<i32, StoreError> {
        i32::try_from(self.i64(name)?).map_err(|e| corrupt(name, e))
    }

    pub fn opt_i32(&self, name: &str) -> Result<Option<i32>, StoreError> {
        self.opt_i64(name)?
            .map(|v| i32::try_from(v).map_err(|e| corrupt(name, e)))
            .transpose()
    }

    pub fn ts(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_ts(name, &self.s(name)?)
    }

    pub fn opt_ts(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_s(name)?.map(|t| parse_ts(name, &t)).transpose()
    }

    pub fn bool(&self, name: &str) -> Result<bool, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::Bool(v)) => Ok(*v),
            other => Err(corrupt(name, format!("not a boolean: {other:?}"))),
        }
    }
}

/// The placeholders of one expression: every attribute by `#name` (many of ours are
/// reserved words: `status`, `type`, `ttl`, `count`…), every value by `:vN`.
#[derive(Default)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
}

impl Expr {
    pub fn name(&mut self, attr: &str) -> String {
        let placeholder = format!("#{attr}");
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    pub fn value(&mut self, v: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), v);
        placeholder
    }

    /// `#attr = :v`, for conditions.
    pub fn eq(&mut self, attr: &str, v: AttributeValue) -> String {
        format!("{} = {}", self.name(attr), self.value(v))
    }

    pub fn exists(&mut self, attr: &str) -> String {
        format!("attribute_exists({})", self.name(attr))
    }

    pub fn missing(&mut self, attr: &str) -> String {
        format!("attribute_not_exists({})", self.name(attr))
    }

    /// Adds `attr = v` to the update's SET clause.
    pub fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let clause = self.eq(attr, v);
        self.sets.push(clause);
        self
    }

    /// Sets `attr`, or removes it when `None`.
    pub fn set_opt(&mut self, attr: &str, v: Option<AttributeValue>) -> &mut Self {
        match v {
            Some(v) => self.set(attr, v),
            None => self.remove(attr),
        }
    }

    pub fn remove(&mut self, attr: &str) -> &mut Self {
        let name = self.name(attr);
        self.removes.push(name);
        self
    }

    /// Adds `v` to the number `attr` (0 when absent).
    pub fn add(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let clause = format!("{} {}", self.name(attr), self.value(v));
        self.adds.push(clause);
        self
    }

    /// The update expression of the SET, REMOVE and ADD clauses so far.
    pub fn update(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        parts.join(" ")
    }

    /// The names, or `None`: DynamoDB refuses an empty map.
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
