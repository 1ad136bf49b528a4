//! Okta's `search` and `filter` expressions (SCIM filtering, as the Users API reference
//! describes it): `attribute op "value"` with `eq`, `sw`, `co`, `gt`, `ge`, `lt`, `le`, and
//! `attribute pr`; joined with `and` and `or` (`and` binding tighter), grouped with
//! parentheses. Property names are case sensitive; operators and string values are not. The
//! reference does not support `ne` ("use `lt … or … gt`"), and neither does this.

use serde_json::Value;

use super::api::ApiError;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Compare {
        attribute: String,
        op: Op,
        value: Literal,
    },
    Present(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Sw,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// Okta's answer to an expression it cannot read.
fn invalid(detail: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "E0000031",
        "Invalid search criteria.",
    );
    e.causes.push(detail.into());
    e
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
}

fn tokens(input: &str) -> Result<Vec<Token>, ApiError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(escaped) => text.push(escaped),
                            None => return Err(invalid("the expression ends inside a string")),
                        },
                        Some('"') => break,
                        Some(other) => text.push(other),
                        None => return Err(invalid("a string is not closed")),
                    }
                }
                out.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, ApiError> {
        let mut all = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            all.push(self.and()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::Or(all)
        })
    }

    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut all = vec![self.primary()?];
        while self.peek_word("and") {
            self.at += 1;
            all.push(self.primary()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::And(all)
        })
    }

    fn primary(&mut self) -> Result<Expr, ApiError> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err(invalid("a parenthesis is not closed")),
                }
            }
            Some(Token::Word(attribute)) => {
                let op = match self.tokens.get(self.at) {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(invalid(format!("{attribute} has no operator"))),
                };
                self.at += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Expr::Present(attribute)),
                    "eq" => Op::Eq,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => {
                        return Err(invalid(format!("unsupported operator {other}")));
                    }
                };
                let value = match self.tokens.get(self.at).cloned() {
                    Some(Token::Text(text)) => Literal::Text(text),
                    Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                        "true" => Literal::Bool(true),
                        "false" => Literal::Bool(false),
                        "null" => Literal::Null,
                        _ => Literal::Number(word.parse().map_err(|_| {
                            invalid(format!("{word} is neither a quoted string nor a number"))
                        })?),
                    },
                    _ => return Err(invalid(format!("{attribute} {op:?} has no value"))),
                };
                self.at += 1;
                Ok(Expr::Compare {
                    attribute,
                    op,
                    value,
                })
            }
            _ => Err(invalid("an expression was expected")),
        }
    }
}

impl Expr {
    /// Parses a `search` or `filter` expression.
    pub(crate) fn parse(input: &str) -> Result<Expr, ApiError> {
        let mut parser = Parser {
            tokens: tokens(input)?,
            at: 0,
        };
        let expr = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(invalid(format!(
                "unexpected text after the expression in {input:?}"
            )));
        }
        Ok(expr)
    }

    /// Whether the expression holds, `lookup` giving an attribute's value (`None`: absent).
    pub(crate) fn holds(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        match self {
            Expr::Or(all) => all.iter().any(|e| e.holds(lookup)),
            Expr::And(all) => all.iter().all(|e| e.holds(lookup)),
            Expr::Present(attribute) => lookup(attribute).is_some_and(|v| !v.is_null()),
            Expr::Compare {
                attribute,
                op,
                value,
            } => match lookup(attribute) {
                // Arrays match when any element does.
                Some(Value::Array(items)) => items.iter().any(|v| compare(v, *op, value)),
                Some(v) => compare(&v, *op, value),
                None => matches!(value, Literal::Null) && *op == Op::Eq,
            },
        }
    }

    /// [`Expr::holds`] on a JSON object, attributes read as dotted paths into it.
    pub(crate) fn holds_on(&self, object: &Value) -> bool {
        self.holds(&|attribute| at_path(object, attribute).cloned())
    }
}

/// The value at a dotted path (`profile.department`, `type.id`).
pub(crate) fn at_path<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, key| v.get(key))
}

fn compare(actual: &Value, op: Op, wanted: &Literal) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, wanted) {
        (Value::String(a), Literal::Text(w)) => {
            let (a, w) = (a.to_lowercase(), w.to_lowercase());
            match op {
                Op::Sw => return a.starts_with(&w),
                Op::Co => return a.contains(&w),
                _ => a.cmp(&w),
            }
        }
        (Value::Number(a), Literal::Number(w)) => match a.as_f64().and_then(|a| a.partial_cmp(w)) {
            Some(o) => o,
            None => return false,
        },
        // A number written as a string in the expression (`clearanceLevel eq "2"`).
        (Value::Number(a), Literal::Text(w)) => match w.parse::<f64>() {
            Ok(w) => match a.as_f64().and_then(|a| a.partial_cmp(&w)) {
                Some(o) => o,
                None => return false,
            },
            Err(_) => return false,
        },
        (Value::Bool(a), Literal::Bool(w)) => a.cmp(w),
        (Value::Null, Literal::Null) => Ordering::Equal,
        _ => return false,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Sw | Op::Co => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(expr: &str, on: &Value) -> bool {
        Expr::parse(expr).unwrap().holds_on(on)
    }

    #[test]
    fn reads_the_reference_examples() {
        let user = json!({"id": "00u1", "status": "ACTIVE", "created": "2013-06-01T00:00:00.000Z",
            "lastUpdated": "2015-11-15T19:23:32.000Z", "type": {"id": "oty1"},
            "profile": {"department": "Engineering", "login": "Isaac.Brock@example.com",
                        "arrayAttr": ["arrayAttrVal1", "arrayAttrVal2"], "level": 3, "nick": null}});
        assert!(holds(r#"status eq "STAGED" or status eq "ACTIVE""#, &user));
        assert!(holds(r#"lastUpdated gt "2014-01-01T00:00:00.000Z""#, &user));
        assert!(holds(
            r#"profile.department eq "Engineering" and (created lt "2014-01-01T00:00:00.000Z" or status eq "ACTIVE")"#,
            &user
        ));
        assert!(!holds(
            r#"profile.department eq "Engineering" and (created gt "2014-01-01T00:00:00.000Z" and status eq "STAGED")"#,
            &user
        ));
        assert!(holds(r#"profile.login sw "isaac.b""#, &user));
        assert!(holds(r#"profile.arrayAttr eq "arrayAttrVal2""#, &user));
        assert!(holds("profile.department pr", &user));
        assert!(!holds("profile.nick pr", &user));
        assert!(!holds("profile.missing pr", &user));
        assert!(holds(r#"type.id eq "oty1""#, &user));
        assert!(holds("profile.level ge 3", &user));
        assert!(holds(r#"profile.level eq "3""#, &user));
        assert!(holds(
            r#"(status lt "STAGED" or status gt "STAGED")"#,
            &user
        ));
    }

    #[test]
    fn refuses_what_the_reference_does_not_support() {
        for bad in [
            r#"status ne "ACTIVE""#,
            r#"status eq"#,
            r#"(status eq "ACTIVE""#,
            r#"status eq "ACTIVE" extra"#,
            r#"status eq ACTIVE"#,
            "",
        ] {
            let e = Expr::parse(bad).unwrap_err();
            assert_eq!(e.code, "E0000031", "{bad}");
            assert_eq!(e.status, 400, "{bad}");
        }
    }
}
