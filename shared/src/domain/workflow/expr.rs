//! CEL in step configs. A config string beginning with `=` is an expression (`==`
//! escapes a literal `=`), evaluated against `input`, `steps.<key>` (each finished
//! step's output), `vars` and `run` (`id`, `workflowId`, `version`).
//!
//! CEL has no loops or recursion, so an expression's cost is bounded by its size and
//! the data it reads, except that comprehensions (`all`, `exists`, `map`, `filter`)
//! multiply when nested. So an expression is at most `MAX_EXPRESSION` characters,
//! parsed to a bounded depth, may not nest comprehensions, and its value is at most
//! `MAX_VALUE_BYTES` serialized.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use cel::common::ast::Expr;
use cel::objects::Value as CelValue;
use cel::{Context, Env, IdedExpr};
use serde_json::{Map, Value};

use crate::domain::FieldError;

pub const MAX_EXPRESSION: usize = 2048;
/// How deep the parser may nest (CEL's own default is 96).
const MAX_DEPTH: u16 = 32;
/// Brackets inside brackets, and conditionals (`?`), an expression may have.
const MAX_NESTING: usize = 16;
/// A step's output, or any value an expression makes, serialized.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A compiled expression.
#[derive(Debug)]
pub struct Expression {
    source: String,
    expr: IdedExpr,
}

impl Expression {
    /// Compiles CEL `source` (without its `=`), naming `field` in what it reports.
    pub fn compile(source: &str, field: &str) -> Result<Expression, FieldError> {
        if source.len() > MAX_EXPRESSION {
            return Err(FieldError::new(
                field,
                format!("an expression is at most {MAX_EXPRESSION} characters"),
            ));
        }
        if source.trim().is_empty() {
            return Err(FieldError::new(field, "the expression is empty"));
        }
        // The parser recurses once per nesting level before it checks its own depth
        // limit, so deep nesting is refused before parsing, where it costs nothing.
        if nesting(source) > MAX_NESTING {
            return Err(FieldError::new(
                field,
                format!("the expression nests deeper than {MAX_NESTING} levels"),
            ));
        }
        let expr = ENV
            .parser()
            .max_recursion_depth(MAX_DEPTH)
            .parse(source)
            .map_err(|e| FieldError::new(field, format!("the expression does not compile: {e}")))?;
        if comprehension_depth(&expr) > 1 {
            return Err(FieldError::new(
                field,
                "comprehensions (all, exists, map, filter) may not be nested",
            ));
        }
        Ok(Expression {
            source: source.to_owned(),
            expr,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The value of the expression in `scope`, as JSON.
    pub fn evaluate(&self, scope: &Scope) -> Result<Value, String> {
        let value = CelValue::resolve(&self.expr, &scope.context)
            .map_err(|e| format!("`{}` failed: {e}", self.source))?;
        let json = value
            .json()
            .map_err(|e| format!("`{}` made a value JSON cannot hold: {e}", self.source))?;
        bounded(json).map_err(|e| format!("`{}` {e}", self.source))
    }
}

/// The deepest bracket nesting plus the conditionals of `source`, outside string
/// literals: what makes the parser recurse.
fn nesting(source: &str) -> usize {
    let (mut depth, mut deepest, mut conditionals) = (0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '?' => conditionals += 1,
                _ => {}
            },
        }
    }
    deepest + conditionals
}

fn bounded(v: Value) -> Result<Value, String> {
    if v.to_string().len() > MAX_VALUE_BYTES {
        return Err(format!("made a value over {MAX_VALUE_BYTES} bytes"));
    }
    Ok(v)
}

fn comprehension_depth(e: &IdedExpr) -> usize {
    let children: Vec<&IdedExpr> = match &e.expr {
        Expr::Call(c) => c.target.iter().map(|t| &**t).chain(c.args.iter()).collect(),
        Expr::Comprehension(c) => {
            let inner = [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ]
            .into_iter()
            .map(comprehension_depth)
            .max()
            .unwrap_or(0);
            return inner + 1;
        }
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => entries(&m.entries),
        Expr::Select(s) => vec![&*s.operand],
        Expr::Struct(s) => entries(&s.entries),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => vec![],
    };
    children
        .into_iter()
        .map(comprehension_depth)
        .max()
        .unwrap_or(0)
}

/// The expressions of a map's or a struct's entries.
fn entries(list: &[cel::common::ast::IdedEntryExpr]) -> Vec<&IdedExpr> {
    list.iter()
        .flat_map(|entry| match &entry.expr {
            cel::common::ast::EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            cel::common::ast::EntryExpr::StructField(f) => vec![&f.value],
        })
        .collect()
}

/// What expressions read: `{input, steps, vars, run}`, converted to CEL once.
pub struct Scope {
    context: Context<'static, 'static>,
}

impl Scope {
    /// `data` is the object `{input, steps, vars, run}`.
    pub fn new(data: &Value) -> Scope {
        let mut context = Context::with_env(ENV.clone());
        if let Value::Object(m) = data {
            for (name, v) in m {
                context.add_variable_from_value(name.clone(), to_cel(v));
            }
        }
        Scope { context }
    }
}

/// JSON as CEL: whole numbers that fit are `int` (so `input.amount > 100` and
/// `x * 2` work on them), other numbers `double`.
fn to_cel(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: HashMap<String, CelValue> =
                m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            CelValue::from(map)
        }
    }
}

/// A config with its expressions compiled: rendered against a scope when its step starts.
#[derive(Debug)]
pub enum Template {
    Literal(Value),
    Expression(Expression),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

impl Template {
    /// Compiles the expressions in `v`; `field` is `v`'s JSON pointer. The top-level
    /// fields named in `raw` are left as written (a kind that reads them as CEL itself).
    pub fn compile(v: &Value, field: &str, raw: &[&str]) -> Result<Template, Vec<FieldError>> {
        let mut errors = Vec::new();
        let t = Self::compile_inner(v, field, raw, &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    fn compile_inner(
        v: &Value,
        field: &str,
        raw: &[&str],
        errors: &mut Vec<FieldError>,
    ) -> Template {
        match v {
            Value::String(s) => match s.strip_prefix('=') {
                Some(rest) if rest.starts_with('=') => {
                    Template::Literal(Value::String(rest.to_owned()))
                }
                Some(source) => match Expression::compile(source, field) {
                    Ok(e) => Template::Expression(e),
                    Err(e) => {
                        errors.push(e);
                        Template::Literal(Value::Null)
                    }
                },
                None => Template::Literal(v.clone()),
            },
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Self::compile_inner(item, &format!("{field}/{i}"), &[], errors)
                    })
                    .collect(),
            ),
            Value::Object(m) => Template::Object(
                m.iter()
                    .map(|(k, item)| {
                        let at = format!("{field}/{}", escape(k));
                        let t = if raw.contains(&k.as_str()) {
                            Template::Literal(item.clone())
                        } else {
                            Self::compile_inner(item, &at, &[], errors)
                        };
                        (k.clone(), t)
                    })
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    /// Whether any expression is in it.
    pub fn is_dynamic(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Expression(_) => true,
            Template::Array(items) => items.iter().any(Template::is_dynamic),
            Template::Object(fields) => fields.iter().any(|(_, t)| t.is_dynamic()),
        }
    }

    /// The JSON pointers (under `field`) of the expressions, where the config's schema
    /// cannot judge the value before it is computed.
    pub fn dynamic_paths(&self, field: &str, out: &mut Vec<String>) {
        match self {
            Template::Literal(_) => {}
            Template::Expression(_) => out.push(field.to_owned()),
            Template::Array(items) => {
                for (i, t) in items.iter().enumerate() {
                    t.dynamic_paths(&format!("{field}/{i}"), out);
                }
            }
            Template::Object(fields) => {
                for (k, t) in fields {
                    t.dynamic_paths(&format!("{field}/{}", escape(k)), out);
                }
            }
        }
    }

    pub fn render(&self, scope: &Scope) -> Result<Value, String> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Expression(e) => e.evaluate(scope)?,
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Object(fields) => {
                let mut m = Map::new();
                for (k, t) in fields {
                    m.insert(k.clone(), t.render(scope)?);
                }
                Value::Object(m)
            }
        })
    }
}

/// A key as a JSON pointer segment (RFC 6901).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        Scope::new(&json!({
            "input": {"amount": 150.5, "count": 3, "currency": "EUR", "items": [1, 2, 3]},
            "steps": {"check": {"result": true}},
            "vars": {"limit": 100},
            "run": {"id": "run_1", "workflowId": "wf_1", "version": 2},
        }))
    }

    fn render(v: Value) -> Result<Value, String> {
        Template::compile(&v, "/config", &[])
            .unwrap()
            .render(&scope())
    }

    #[test]
    fn strings_beginning_with_equals_are_cel_and_double_equals_escapes() {
        assert_eq!(
            render(
                json!({"big": "=input.amount > double(vars.limit)", "lit": "==x", "s": "plain"})
            )
            .unwrap(),
            json!({"big": true, "lit": "=x", "s": "plain"})
        );
        assert_eq!(render(json!("=steps.check.result")).unwrap(), json!(true));
        assert_eq!(
            render(json!("=run.workflowId + ':' + string(run.version)")).unwrap(),
            json!("wf_1:2")
        );
        assert_eq!(
            render(json!(["=input.items.map(x, x * 2)"])).unwrap(),
            json!([[2, 4, 6]])
        );
        assert_eq!(
            render(json!("=input.count > 2 && input.count * 2 == 6")).unwrap(),
            json!(true)
        );
    }

    #[test]
    fn a_missing_field_fails_at_evaluation_not_with_a_panic() {
        let e = render(json!("=input.nope")).unwrap_err();
        assert!(e.contains("input.nope"), "{e}");
    }

    #[test]
    fn bad_expressions_are_named_by_their_pointer() {
        let errors = Template::compile(
            &json!({"a": [1, "=1 +"]}),
            "/definition/steps/0/config",
            &[],
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "/definition/steps/0/config/a/1");
        let long = format!("={}", "1 + ".repeat(600));
        assert!(Template::compile(&json!(long), "/c", &[]).is_err());
        let nested = json!("=input.items.all(x, input.items.exists(y, x == y))");
        let e = Template::compile(&nested, "/c", &[]).unwrap_err();
        assert!(e[0].message.contains("nested"), "{e:?}");
        let deep = format!("={}1{}", "(".repeat(100), ")".repeat(100));
        assert!(Template::compile(&json!(deep), "/c", &[]).is_err());
        let fine = format!("={}1{}", "(".repeat(16), ")".repeat(16));
        assert!(Template::compile(&json!(fine), "/c", &[]).is_ok());
        let ternaries = format!("={}0", "true ? 1 : ".repeat(17));
        assert!(Template::compile(&json!(ternaries), "/c", &[]).is_err());
        assert!(Template::compile(&json!("='((((((((((((((((((((' + input.s"), "/c", &[]).is_ok());
    }

    #[test]
    fn raw_fields_are_left_for_the_kind() {
        let t =
            Template::compile(&json!({"expression": "=oops +"}), "/c", &["expression"]).unwrap();
        assert!(!t.is_dynamic());
    }
}
