//! A definition checked and compiled in one pass: every problem named by its JSON
//! pointer under `/definition`, and on success the DAG the engine runs.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;

use super::definition::{Definition, MAX_RETRY_ATTEMPTS, MAX_RETRY_DELAY_SECONDS, StepDef};
use super::engine::{Compiled, CompiledStep};
use super::expr::Template;
use super::step::{Branch, Kind};
use crate::domain::{FieldError, form};

pub const MAX_STEPS: usize = 100;
pub const MAX_EDGES: usize = 400;
/// A definition, serialized.
pub const MAX_DEFINITION_BYTES: usize = 256 * 1024;
const MAX_KEY: usize = 64;
const ROOT: &str = "/definition";

/// The kinds a compensation may use: they undo by calling out or by computing, and
/// never wait on a person.
const COMPENSATING: &[Kind] = &[Kind::Http, Kind::Webhook, Kind::Transform, Kind::Ai];

fn key_is_valid(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && key.len() <= MAX_KEY
}

/// A config's template, checked against its kind's schema and rules.
fn config(
    kind: Kind,
    config: &Value,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Template> {
    let spec = kind.spec();
    let template = match Template::compile(config, field, spec.raw_fields()) {
        Ok(t) => t,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let mut dynamic = Vec::new();
    template.dynamic_paths(field, &mut dynamic);
    let before = errors.len();
    errors.extend(kind.check_schema(config, field, &dynamic));
    if errors.len() == before {
        errors.extend(spec.check(config, field, &dynamic));
    }
    (errors.len() == before).then_some(template)
}

fn step(i: usize, s: &StepDef, errors: &mut Vec<FieldError>) -> Option<CompiledStep> {
    let at = format!("{ROOT}/steps/{i}");
    if !key_is_valid(&s.key) {
        errors.push(FieldError::new(
            format!("{at}/key"),
            format!("a key is 1 to {MAX_KEY} letters, digits or _, not starting with a digit"),
        ));
    }
    let Some(kind) = Kind::parse(&s.kind) else {
        errors.push(FieldError::new(
            format!("{at}/kind"),
            format!(
                "unknown kind {:?}; the kinds are {}",
                s.kind,
                Kind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    };
    let template = config(kind, &s.config, &format!("{at}/config"), errors);
    let retry = s.retry.unwrap_or_default();
    if let Some(n) = retry.max_attempts
        && !(1..=MAX_RETRY_ATTEMPTS).contains(&n)
    {
        errors.push(FieldError::new(
            format!("{at}/retry/maxAttempts"),
            format!("must be 1 to {MAX_RETRY_ATTEMPTS}"),
        ));
    }
    for (name, v) in [
        ("delaySeconds", retry.delay_seconds),
        ("maxDelaySeconds", retry.max_delay_seconds),
    ] {
        if v.is_some_and(|v| v > MAX_RETRY_DELAY_SECONDS) {
            errors.push(FieldError::new(
                format!("{at}/retry/{name}"),
                format!("at most {MAX_RETRY_DELAY_SECONDS}"),
            ));
        }
    }
    if retry.max_attempts.unwrap_or(1) > 1 && kind.is_pure() {
        errors.push(FieldError::new(
            format!("{at}/retry"),
            format!("a {kind} step computes the same answer every time: it is not retried"),
        ));
    }
    let compensate = match &s.compensate {
        None => None,
        Some(c) => match Kind::parse(&c.kind) {
            Some(k) if COMPENSATING.contains(&k) => {
                config(k, &c.config, &format!("{at}/compensate/config"), errors).map(|t| (k, t))
            }
            _ => {
                errors.push(FieldError::new(
                    format!("{at}/compensate/kind"),
                    "a compensation is an http, webhook, transform or ai step",
                ));
                None
            }
        },
    };
    Some(CompiledStep {
        key: s.key.clone(),
        kind,
        template: template?,
        retry,
        compensate: match (&s.compensate, compensate) {
            (Some(_), None) => return None,
            (_, c) => c,
        },
        incoming: Vec::new(),
        outgoing: Vec::new(),
    })
}

/// Checks `def` and compiles it, or names every problem found.
pub(super) fn compile(def: &Definition) -> Result<Compiled, Vec<FieldError>> {
    let mut errors = Vec::new();
    let size = serde_json::to_vec(def)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if size > MAX_DEFINITION_BYTES {
        return Err(vec![FieldError::new(
            ROOT,
            format!("at most {MAX_DEFINITION_BYTES} bytes serialized"),
        )]);
    }
    if def.steps.is_empty() || def.steps.len() > MAX_STEPS {
        errors.push(FieldError::new(
            format!("{ROOT}/steps"),
            format!("1 to {MAX_STEPS} steps"),
        ));
    }
    if def.edges.len() > MAX_EDGES {
        errors.push(FieldError::new(
            format!("{ROOT}/edges"),
            format!("at most {MAX_EDGES} edges"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Some(schema) = &def.input_schema {
        let field = format!("{ROOT}/inputSchema");
        if schema.get("type").is_some_and(|t| t != "object") {
            errors.push(FieldError::new(
                format!("{field}/type"),
                "must be \"object\": a run's input is an object",
            ));
        } else if let Err(e) = form::check_schema(schema, &field) {
            errors.push(e);
        }
    }
    let vars = match &def.vars {
        None => None,
        Some(v @ Value::Object(_)) => match Template::compile(v, &format!("{ROOT}/vars"), &[]) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(format!("{ROOT}/vars"), "must be an object"));
            None
        }
    };
    let mut index = HashMap::new();
    for (i, s) in def.steps.iter().enumerate() {
        if index.insert(s.key.clone(), i).is_some() {
            errors.push(FieldError::new(
                format!("{ROOT}/steps/{i}/key"),
                format!("another step already has the key {:?}", s.key),
            ));
        }
    }
    let mut steps: Vec<Option<CompiledStep>> = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| step(i, s, &mut errors))
        .collect();
    let mut seen = HashSet::new();
    let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); def.steps.len()];
    for (j, e) in def.edges.iter().enumerate() {
        let at = format!("{ROOT}/edges/{j}");
        let from = index.get(&e.from).copied();
        let to = index.get(&e.to).copied();
        if from.is_none() {
            errors.push(FieldError::new(
                format!("{at}/from"),
                format!("no step has the key {:?}", e.from),
            ));
        }
        if to.is_none() {
            errors.push(FieldError::new(
                format!("{at}/to"),
                format!("no step has the key {:?}", e.to),
            ));
        }
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let branch = match e.branch.as_deref() {
            None => Branch::Default,
            Some(b) => match Branch::parse(b) {
                Some(b) => b,
                None => {
                    errors.push(FieldError::new(
                        format!("{at}/branch"),
                        format!("unknown branch {b:?}"),
                    ));
                    continue;
                }
            },
        };
        if let Some(kind) = Kind::parse(&def.steps[from].kind) {
            let allowed = kind.spec().branches();
            if !allowed.contains(&branch) {
                let names: Vec<&str> = allowed.iter().map(|b| b.as_str()).collect();
                let message = if names.is_empty() {
                    format!("a {kind} step ends the run: no edge leaves it")
                } else {
                    format!(
                        "a {kind} step has no {branch} branch; its branches are {}",
                        names.join(", ")
                    )
                };
                let field = if e.branch.is_some() {
                    format!("{at}/branch")
                } else {
                    at.clone()
                };
                errors.push(FieldError::new(field, message));
                continue;
            }
        }
        if from == to {
            errors.push(FieldError::new(
                at,
                "an edge from a step to itself makes a cycle",
            ));
            continue;
        }
        if !seen.insert((from, to, branch)) {
            errors.push(FieldError::new(at, "the same edge is already there"));
            continue;
        }
        adjacency[from].push(to);
        if let Some(Some(f)) = steps.get_mut(from) {
            f.outgoing.push((branch, to));
        }
        if let Some(Some(t)) = steps.get_mut(to) {
            t.incoming.push((from, branch));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let order = order(def, &adjacency)?;
    let steps: Vec<CompiledStep> = steps.into_iter().map(|s| s.expect("no errors")).collect();
    Ok(Compiled {
        input_schema: def.input_schema.clone(),
        vars,
        steps,
        order,
    })
}

/// The steps in an order where every edge points forward; or the edge that closes a
/// cycle, and the steps no path from a start reaches (which only a cycle makes).
fn order(def: &Definition, adjacency: &[Vec<usize>]) -> Result<Vec<usize>, Vec<FieldError>> {
    let n = adjacency.len();
    let mut indegree = vec![0usize; n];
    for outs in adjacency {
        for &to in outs {
            indegree[to] += 1;
        }
    }
    let roots: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &to in &adjacency[i] {
            indegree[to] -= 1;
            if indegree[to] == 0 {
                queue.push_back(to);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // What Kahn's algorithm left is on a cycle or after one; of it, trimming the steps
    // that lead nowhere left leaves the cycles (and what joins them).
    let mut left: Vec<bool> = indegree.iter().map(|d| *d > 0).collect();
    loop {
        let sinks: Vec<usize> = (0..n)
            .filter(|&i| left[i] && !adjacency[i].iter().any(|&t| left[t]))
            .collect();
        if sinks.is_empty() {
            break;
        }
        for i in sinks {
            left[i] = false;
        }
    }
    let index: HashMap<&str, usize> = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i))
        .collect();
    let on_cycle = |key: &str| index.get(key).is_some_and(|&i| left[i]);
    let mut errors: Vec<FieldError> = def
        .edges
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| on_cycle(&e.from) && on_cycle(&e.to))
        .map(|(j, _)| {
            FieldError::new(
                format!("{ROOT}/edges/{j}"),
                "this edge closes a cycle: a workflow is a DAG",
            )
        })
        .into_iter()
        .collect();
    let mut reached = vec![false; n];
    let mut queue: VecDeque<usize> = roots.into_iter().collect();
    for &r in &queue {
        reached[r] = true;
    }
    while let Some(i) = queue.pop_front() {
        for &to in &adjacency[i] {
            if !reached[to] {
                reached[to] = true;
                queue.push_back(to);
            }
        }
    }
    errors.extend((0..n).filter(|&i| !reached[i]).map(|i| {
        FieldError::new(
            format!("{ROOT}/steps/{i}"),
            "unreachable: no path from a step without incoming edges leads here",
        )
    }));
    Err(errors)
}
