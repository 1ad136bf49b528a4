//! What every Graph endpoint shares: the request and answer as the dispatcher sees them (the
//! same for a plain HTTP request and an item of a `$batch`), Graph's error bodies, OData query
//! options (`$top`, `$select`, `$filter`, `$skiptoken`, `$expand`) and `@odata.nextLink` paging.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

/// One request to Graph, relative to `/v1.0`.
#[derive(Debug, Clone)]
pub(crate) struct GraphRequest {
    pub method: String,
    /// `/users/{id}/manager/$ref`, without `/v1.0` and without the query.
    pub path: String,
    pub query: Params,
    pub body: Option<Value>,
    /// The `Authorization` header, if any.
    pub auth: Option<String>,
    /// True for an item of a `$batch`.
    pub in_batch: bool,
}

impl GraphRequest {
    /// The path's segments, percent-decoded.
    pub(crate) fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An answer: status, headers and an optional JSON body, already serialized (a `$batch`
/// answer embeds its items' bodies as they are).
#[derive(Debug, Clone)]
pub(crate) struct GraphResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl GraphResponse {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        GraphResponse::serialized(status, &body)
    }

    /// An answer whose body is `body` as JSON, written without building a `Value` first.
    pub(crate) fn serialized(status: u16, body: &impl Serialize) -> Self {
        GraphResponse {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8".into(),
            )],
            body: Some(serde_json::to_vec(body).expect("JSON of the emulator's own values")),
        }
    }

    pub(crate) fn no_content() -> Self {
        GraphResponse {
            status: 204,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// A Graph error: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl GraphError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn not_found(id: &str) -> Self {
        GraphError::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    pub(crate) fn no_route(method: &str, path: &str) -> Self {
        GraphError::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{path}' with method {method}."),
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        GraphError::new(400, "Request_BadRequest", message)
    }

    pub(crate) fn conflict_property(property: &str) -> Self {
        GraphError::new(
            400,
            "Request_BadRequest",
            format!("Another object with the same value for property {property} already exists."),
        )
    }

    pub(crate) fn unsupported_query(detail: &str) -> Self {
        GraphError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Unsupported Query. {detail}"),
        )
    }

    pub(crate) fn unauthenticated(message: &str) -> Self {
        GraphError::new(401, "InvalidAuthenticationToken", message)
    }

    pub(crate) fn forbidden() -> Self {
        GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub(crate) fn throttled(retry_after: u64) -> Self {
        let mut e = GraphError::new(
            429,
            "TooManyRequests",
            "Too many requests. Please retry after the number of seconds given in the Retry-After header.",
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub(crate) fn response(&self) -> GraphResponse {
        let mut r = GraphResponse::json(
            self.status,
            json!({"error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": request_id(&self.message),
                    "client-request-id": request_id(self.code),
                }
            }}),
        );
        if let Some(secs) = self.retry_after {
            r.headers.push(("Retry-After".into(), secs.to_string()));
        }
        r
    }
}

/// A stable id that only needs to look like Graph's request ids.
fn request_id(text: &str) -> String {
    let h = text.bytes().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x100000001b3)
    });
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(crate) type GraphResult = Result<GraphResponse, GraphError>;

/// Query options by name (`$top`, `$select`, …).
pub(crate) type Params = HashMap<String, String>;

pub(crate) fn parse_query(query: &str) -> Params {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `$top` as Graph reads it: the default when absent, an error beyond `max` or below 1.
pub(crate) fn top(params: &Params, default: usize, max: usize) -> Result<usize, GraphError> {
    match params.get("$top") {
        None => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(GraphError::new(
                400,
                "Request_BadRequest",
                format!(
                    "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
                ),
            )),
        },
    }
}

/// The properties named by `$select`, if given, sorted and without repeats.
pub(crate) fn select(params: &Params) -> Option<Vec<String>> {
    params.get("$select").map(|s| {
        let mut names: Vec<String> = s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        names.sort();
        names.dedup();
        names
    })
}

/// `object` reduced to `$select`, or to `defaults` when no `$select` was given (Graph returns a
/// small default set for users). `@odata.type` is kept on members of polymorphic collections.
pub(crate) fn project(
    object: &Value,
    selected: Option<&[String]>,
    defaults: Option<&[&str]>,
) -> Value {
    match projected(object, selected, defaults) {
        Some(view) => view.to_value(),
        None => object.clone(),
    }
}

/// The properties of `object` an answer shows, as [`project`] chooses them, borrowed from the
/// tenant and written out directly: list answers are the emulator's hot path. `None` when
/// `object` is not a JSON object.
pub(crate) fn projected<'a>(
    object: &'a Value,
    selected: Option<&'a [String]>,
    defaults: Option<&[&str]>,
) -> Option<Projected<'a>> {
    let map = object.as_object()?;
    let fields = match (selected, defaults) {
        (Some(sel), _) if sel.iter().any(|s| s == "*") => all_fields(map),
        (Some(sel), _) => {
            // The object's properties and the selection are both sorted: one merge finds the
            // exact matches; a name matched in another case only is looked for afterwards.
            let mut fields = Vec::with_capacity(sel.len() + 1);
            let mut unmatched: Vec<&'a str> = Vec::new();
            let mut names = sel.iter().map(String::as_str).peekable();
            for (k, v) in map {
                while let Some(s) = names.next_if(|s| *s < k.as_str()) {
                    unmatched.push(s);
                }
                if names.next_if(|s| *s == k.as_str()).is_some() || k == "@odata.type" {
                    fields.push((k.as_str(), Field::Value(v)));
                }
            }
            unmatched.extend(names);
            for s in unmatched {
                let found = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(s));
                // Selected properties that are unset still appear, as null.
                fields.push(match found {
                    Some((k, v)) => (k.as_str(), Field::Value(v)),
                    None => (s, Field::Value(&NULL)),
                });
            }
            fields.sort_by(|a, b| a.0.cmp(b.0));
            fields.dedup_by(|a, b| a.0 == b.0);
            fields
        }
        (None, Some(def)) => map
            .iter()
            .filter(|(k, _)| *k == "@odata.type" || def.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), Field::Value(v)))
            .collect(),
        (None, None) => all_fields(map),
    };
    Some(Projected { fields })
}

static NULL: Value = Value::Null;

fn all_fields(map: &Map<String, Value>) -> Vec<(&str, Field<'_>)> {
    map.iter()
        .map(|(k, v)| (k.as_str(), Field::Value(v)))
        .collect()
}

/// An object as an answer shows it: its properties sorted by name, borrowed where they come
/// from the tenant.
#[derive(Debug)]
pub(crate) struct Projected<'a> {
    fields: Vec<(&'a str, Field<'a>)>,
}

#[derive(Debug)]
enum Field<'a> {
    Value(&'a Value),
    Owned(Value),
    Object(Projected<'a>),
}

impl<'a> Projected<'a> {
    /// Sets `name` (replacing it if present), keeping the properties sorted.
    pub(crate) fn set(&mut self, name: &'a str, value: Value) {
        self.put(name, Field::Owned(value));
    }

    /// Sets `name` to a nested object.
    pub(crate) fn set_object(&mut self, name: &'a str, value: Projected<'a>) {
        self.put(name, Field::Object(value));
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.fields.retain(|(k, _)| *k != name);
    }

    fn put(&mut self, name: &'a str, field: Field<'a>) {
        match self.fields.binary_search_by(|(k, _)| (*k).cmp(name)) {
            Ok(at) => self.fields[at].1 = field,
            Err(at) => self.fields.insert(at, (name, field)),
        }
    }

    fn to_value(&self) -> Value {
        let map = self
            .fields
            .iter()
            .map(|(k, f)| {
                let v = match f {
                    Field::Value(v) => (*v).clone(),
                    Field::Owned(v) => v.clone(),
                    Field::Object(o) => o.to_value(),
                };
                (k.to_string(), v)
            })
            .collect();
        Value::Object(map)
    }
}

impl Serialize for Projected<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (k, f) in &self.fields {
            match f {
                Field::Value(v) => map.serialize_entry(k, v)?,
                Field::Owned(v) => map.serialize_entry(k, v)?,
                Field::Object(o) => map.serialize_entry(k, o)?,
            }
        }
        map.end()
    }
}

/// One `property eq 'value'` condition; several may be joined with `and`.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub property: String,
    pub value: Value,
}

/// Parses the subset of OData `$filter` the connector uses: `a eq 'x' and b eq true`.
pub(crate) fn filter(params: &Params) -> Result<Vec<Condition>, GraphError> {
    let Some(expr) = params.get("$filter") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in expr.split(" and ") {
        let Some((property, value)) = part.trim().split_once(" eq ") else {
            return Err(GraphError::unsupported_query(&format!(
                "Only 'eq' comparisons are supported here: {part}"
            )));
        };
        let value = value.trim();
        let value = if let Some(s) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            Value::String(s.replace("''", "'"))
        } else if value == "true" || value == "false" {
            Value::Bool(value == "true")
        } else {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!(
                    "Invalid filter clause: the value of {part} must be a quoted string or a boolean."
                ),
            ));
        };
        out.push(Condition {
            property: property.trim().replace('/', "."),
            value,
        });
    }
    Ok(out)
}

/// True when `object` satisfies every condition (strings compare without case, as Graph does).
pub(crate) fn matches(object: &Value, conditions: &[Condition]) -> bool {
    conditions.iter().all(|c| {
        let pointer = format!("/{}", c.property.replace('.', "/"));
        match (object.pointer(&pointer), &c.value) {
            (Some(Value::String(a)), Value::String(b)) => a.eq_ignore_ascii_case(b),
            (Some(a), b) => a == b,
            (None, _) => false,
        }
    })
}

/// The opaque `$skiptoken`: the hex of the last id of the previous page.
pub(crate) fn skip_after(params: &Params) -> Result<Option<String>, GraphError> {
    let Some(token) = params.get("$skiptoken") else {
        return Ok(None);
    };
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    match bytes.and_then(|b| String::from_utf8(b).ok()) {
        Some(id) if token.len() % 2 == 0 => Ok(Some(id)),
        _ => Err(GraphError::new(
            400,
            "Directory_InvalidPagingToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )),
    }
}

fn skip_token(id: &str) -> String {
    id.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A collection answer: `@odata.context`, `value`, and `@odata.nextLink` (absolute, carrying the
/// same query options and a `$skiptoken`) when more items follow.
pub(crate) fn page<T: Serialize>(
    base: &str,
    req: &GraphRequest,
    context: &str,
    items: Vec<T>,
    last_id: Option<&str>,
) -> GraphResponse {
    let next = last_id.map(|last| {
        let mut url = url::Url::parse(&format!("{base}/v1.0{}", req.path)).expect("emulator url");
        {
            let mut q = url.query_pairs_mut();
            let mut keys: Vec<&String> = req.query.keys().filter(|k| *k != "$skiptoken").collect();
            keys.sort();
            for k in keys {
                q.append_pair(k, &req.query[k]);
            }
            q.append_pair("$skiptoken", &skip_token(last));
        }
        url.to_string()
    });
    GraphResponse::serialized(
        200,
        &PageBody {
            context: format!("{base}/v1.0/$metadata#{context}"),
            next,
            value: items,
        },
    )
}

#[derive(Serialize)]
struct PageBody<T> {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    value: Vec<T>,
}

/// Takes one page from `items` (sorted by id, already filtered): the page and, when more
/// follow, the id to continue after.
pub(crate) fn take_page<'a, I>(
    items: I,
    after: Option<&str>,
    top: usize,
) -> (Vec<&'a Value>, Option<String>)
where
    I: Iterator<Item = (&'a String, &'a Value)>,
{
    let mut out = Vec::with_capacity(top.min(1000));
    let mut more = false;
    for (id, v) in items {
        if after.is_some_and(|a| id.as_str() <= a) {
            continue;
        }
        if out.len() == top {
            more = true;
            break;
        }
        out.push(v);
    }
    let last = more
        .then(|| {
            out.last()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .flatten();
    (out, last)
}

/// The JSON body of a write, or Graph's 400 when it is missing or not an object.
pub(crate) fn body_object(req: &GraphRequest) -> Result<Map<String, Value>, GraphError> {
    match &req.body {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        )),
    }
}

/// The id in an `@odata.id` reference (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`).
pub(crate) fn reference_id(req: &GraphRequest) -> Result<String, GraphError> {
    let body = body_object(req)?;
    body.get("@odata.id")
        .and_then(Value::as_str)
        .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            GraphError::bad_request("Invalid URL format specified in @odata.id: a directory object reference is expected.")
        })
}
