//! A CloudTrail record for one API call that went through the front: which service and
//! operation (the query protocol's `Action`, the JSON protocols' `X-Amz-Target`), who (the
//! access key of the SigV4 `Authorization` header), from where, with which parameters, in the
//! shape of CloudTrail's record contents (`userIdentity`, `requestParameters`, …).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::{Map, Value, json};

/// moto's account.
pub const ACCOUNT: &str = "123456789012";

/// The region CloudTrail keeps the events of global services (IAM, Organizations) in.
const GLOBAL_REGION: &str = "us-east-1";

/// What CloudTrail writes instead of a secret parameter.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// An IAM user whose access keys the front has seen created.
#[derive(Debug, Clone, Default)]
pub struct KnownUser {
    pub name: String,
    pub id: String,
    pub arn: String,
}

/// What the front remembers of IAM to name callers: users by name, access keys by id.
#[derive(Debug, Default)]
pub struct Principals {
    pub users: HashMap<String, KnownUser>,
    pub keys: HashMap<String, String>,
}

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub seq: u64,
    pub id: String,
    pub time: DateTime<Utc>,
    /// The region whose event history holds it.
    pub region: String,
    pub name: String,
    pub source: String,
    pub access_key: String,
    pub username: String,
    pub resources: Vec<(String, String)>,
    pub read_only: bool,
    /// The record contents, as `LookupEvents` returns them in `CloudTrailEvent`.
    pub body: Value,
}

/// A request as the front saw it.
pub struct Request<'a> {
    pub target: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub body: &'a [u8],
    pub peer: String,
}

/// The access key, region and service of a SigV4 `Authorization` header
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
pub fn credential(authorization: &str) -> Option<(String, String, String)> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some((key, region, service))
}

/// The service and operation of a call: `(eventSource, eventName, requestParameters)`, for
/// the services whose changes the connectors read; `None` for the others (STS, S3).
fn operation(req: &Request<'_>, service: &str) -> Option<(&'static str, String, Value)> {
    if let Some(target) = req.target {
        let (prefix, name) = target.split_once('.')?;
        let source = match prefix {
            "SWBExternalService" => "sso.amazonaws.com",
            "AWSIdentityStore" => "identitystore.amazonaws.com",
            "AWSOrganizationsV20161128" => "organizations.amazonaws.com",
            _ => return None,
        };
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        return Some((source, name.to_string(), camel(body)));
    }
    if service != "iam" {
        return None;
    }
    let form = req
        .content_type
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    let mut name = None;
    let mut params = Map::new();
    for (k, v) in url::form_urlencoded::parse(req.body) {
        match k.as_ref() {
            "Action" => name = Some(v.into_owned()),
            "Version" => {}
            // Lists (`Tags.member.1.Key`) are left out: the connectors name objects by the
            // flat parameters.
            k if k.contains('.') => {}
            k => {
                params.insert(lower_first(k), Value::String(v.into_owned()));
            }
        }
    }
    Some((
        "iam.amazonaws.com",
        name?,
        hide_secrets(Value::Object(params)),
    ))
}

/// CloudTrail's parameter names: the API's with a lower-case first letter (`UserName` →
/// `userName`, `SAMLProviderArn` → `sAMLProviderArn`).
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A JSON body with CloudTrail's key names, secrets hidden.
fn camel(value: Value) -> Value {
    match value {
        Value::Object(map) => hide_secrets(Value::Object(
            map.into_iter()
                .map(|(k, v)| (lower_first(&k), camel(v)))
                .collect(),
        )),
        Value::Array(list) => Value::Array(list.into_iter().map(camel).collect()),
        other => other,
    }
}

fn hide_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    if k.to_lowercase().contains("password") {
                        (k, Value::String(HIDDEN.into()))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

/// True for operations that only read.
fn read_only(name: &str) -> bool {
    ["Get", "List", "Describe", "Generate", "Simulate"]
        .iter()
        .any(|verb| name.starts_with(verb))
}

/// The text of the first `<tag>…</tag>` of an XML answer.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Learns from IAM's answers who owns which access key, and CloudTrail's `responseElements`
/// of the calls that create principals.
fn learn(principals: &mut Principals, name: &str, answer: &str) -> Value {
    match name {
        "CreateUser" => {
            let user = KnownUser {
                name: xml_text(answer, "UserName").unwrap_or_default().into(),
                id: xml_text(answer, "UserId").unwrap_or_default().into(),
                arn: xml_text(answer, "Arn").unwrap_or_default().into(),
            };
            let elements =
                json!({"user": {"userName": user.name, "userId": user.id, "arn": user.arn}});
            principals.users.insert(user.name.clone(), user);
            elements
        }
        "CreateAccessKey" => {
            if let (Some(user), Some(key)) = (
                xml_text(answer, "UserName"),
                xml_text(answer, "AccessKeyId"),
            ) {
                principals.keys.insert(key.to_string(), user.to_string());
                // CloudTrail keeps the key's id, never its secret.
                return json!({"accessKey": {"userName": user, "accessKeyId": key, "status": "Active"}});
            }
            Value::Null
        }
        "CreateGroup" | "CreateRole" => {
            let (object, id_tag, name_tag) = match name {
                "CreateGroup" => ("group", "GroupId", "GroupName"),
                _ => ("role", "RoleId", "RoleName"),
            };
            json!({object: {
                lower_first(name_tag): xml_text(answer, name_tag),
                lower_first(id_tag): xml_text(answer, id_tag),
                "arn": xml_text(answer, "Arn"),
            }})
        }
        _ => Value::Null,
    }
}

/// `userIdentity` of the caller holding `key`: the IAM user the key was created for, else the
/// account's root (moto's default credentials).
fn identity(principals: &Principals, key: &str) -> (Value, String) {
    match principals.keys.get(key) {
        Some(name) => {
            let user = principals.users.get(name).cloned().unwrap_or(KnownUser {
                name: name.clone(),
                id: String::new(),
                arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            });
            (
                json!({"type": "IAMUser", "principalId": user.id, "arn": user.arn,
                       "accountId": ACCOUNT, "accessKeyId": key, "userName": user.name}),
                user.name,
            )
        }
        None => (
            json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
                   "accountId": ACCOUNT, "accessKeyId": key}),
            "root".into(),
        ),
    }
}

/// `Resources` of `LookupEvents`: the objects a call names, by CloudTrail's resource types.
fn resources(params: &Value) -> Vec<(String, String)> {
    const TYPES: &[(&str, &str)] = &[
        ("userName", "AWS::IAM::User"),
        ("groupName", "AWS::IAM::Group"),
        ("roleName", "AWS::IAM::Role"),
        ("policyArn", "AWS::IAM::Policy"),
        ("permissionSetArn", "AWS::SSO::PermissionSet"),
        ("policyId", "AWS::Organizations::Policy"),
        ("accountId", "AWS::Organizations::Account"),
    ];
    TYPES
        .iter()
        .filter_map(|(param, kind)| {
            let value = params.get(*param)?.as_str()?;
            Some((kind.to_string(), value.to_string()))
        })
        .collect()
}

/// The record of a call that succeeded, or `None` when it is not one CloudTrail's event
/// history of these services would hold for the connectors (reads, other services).
pub fn record(
    principals: &mut Principals,
    req: &Request<'_>,
    answer: &[u8],
    seq: u64,
    now: DateTime<Utc>,
) -> Option<Recorded> {
    // CloudTrail's event times are whole seconds.
    let now = now.trunc_subsecs(0);
    let (key, region, service) = credential(req.authorization?)?;
    let (source, name, params) = operation(req, &service)?;
    if read_only(&name) {
        return None;
    }
    let response = match source {
        "iam.amazonaws.com" => learn(principals, &name, &String::from_utf8_lossy(answer)),
        _ => camel(serde_json::from_slice(answer).unwrap_or(Value::Null)),
    };
    let region = match source {
        "iam.amazonaws.com" | "organizations.amazonaws.com" => GLOBAL_REGION.to_string(),
        _ => region,
    };
    let (user_identity, username) = identity(principals, &key);
    let id = format!("{:08x}-0000-4000-8000-{seq:012x}", seq);
    let body = json!({
        "eventVersion": "1.08",
        "userIdentity": user_identity,
        "eventTime": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": req.peer,
        "userAgent": req.user_agent.unwrap_or_default(),
        "requestParameters": if params.as_object().is_some_and(|m| !m.is_empty()) { params.clone() } else { Value::Null },
        "responseElements": response,
        "requestID": format!("req-{seq}"),
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    });
    Some(Recorded {
        seq,
        id,
        time: now,
        region,
        resources: resources(&params),
        name,
        source: source.to_string(),
        access_key: key,
        username,
        read_only: false,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam(body: &str, key: &str) -> Request<'static> {
        Request {
            target: None,
            authorization: Some(Box::leak(
                format!("AWS4-HMAC-SHA256 Credential={key}/20261206/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0").into_boxed_str(),
            )),
            content_type: Some("application/x-www-form-urlencoded"),
            user_agent: None,
            body: Box::leak(body.as_bytes().to_vec().into_boxed_slice()),
            peer: "127.0.0.1".into(),
        }
    }

    #[test]
    fn a_users_key_names_them_in_the_record_of_their_calls() {
        let mut known = Principals::default();
        let now = Utc::now();
        let created = "<CreateUserResponse><CreateUserResult><User><UserName>eve</UserName><UserId>AIDAEVE</UserId><Arn>arn:aws:iam::123456789012:user/eve</Arn></User></CreateUserResult></CreateUserResponse>";
        record(
            &mut known,
            &iam("Action=CreateUser&UserName=eve", "root-key"),
            created.as_bytes(),
            1,
            now,
        )
        .unwrap();
        let key = "<CreateAccessKeyResult><AccessKey><UserName>eve</UserName><AccessKeyId>AKIAEVE</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey></AccessKey></CreateAccessKeyResult>";
        let made = record(
            &mut known,
            &iam("Action=CreateAccessKey&UserName=eve", "root-key"),
            key.as_bytes(),
            2,
            now,
        )
        .unwrap();
        assert!(!made.body.to_string().contains("s3cr3t"));
        assert_eq!(made.body["userIdentity"]["type"], "Root");
        let deleted = record(
            &mut known,
            &iam(
                "Action=DeleteUser&Version=2010-05-08&UserName=ada",
                "AKIAEVE",
            ),
            b"<DeleteUserResponse/>",
            3,
            now,
        )
        .unwrap();
        assert_eq!(
            deleted.body["userIdentity"]["arn"],
            "arn:aws:iam::123456789012:user/eve"
        );
        assert_eq!(deleted.body["userIdentity"]["userName"], "eve");
        assert_eq!(
            deleted.body["requestParameters"],
            json!({"userName": "ada"})
        );
        assert_eq!(deleted.username, "eve");
        assert_eq!(
            deleted.resources,
            vec![("AWS::IAM::User".to_string(), "ada".to_string())]
        );
        assert!(record(&mut known, &iam("Action=ListUsers", "AKIAEVE"), b"", 4, now).is_none());
        let password = record(
            &mut known,
            &iam(
                "Action=CreateLoginProfile&UserName=ada&Password=hunter2",
                "AKIAEVE",
            ),
            b"",
            5,
            now,
        )
        .unwrap();
        assert!(!password.body.to_string().contains("hunter2"));
    }

    #[test]
    fn json_protocol_calls_keep_their_parameters_in_cloudtrail_case() {
        let mut known = Principals::default();
        let req = Request {
            target: Some("SWBExternalService.DeleteAccountAssignment"),
            authorization: Some("AWS4-HMAC-SHA256 Credential=testing/20261206/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=0"),
            content_type: Some("application/x-amz-json-1.1"),
            user_agent: None,
            body: br#"{"InstanceArn":"arn:aws:sso:::instance/ssoins-1","PermissionSetArn":"ps","PrincipalType":"USER","PrincipalId":"u-1","TargetId":"111122223333","TargetType":"AWS_ACCOUNT"}"#,
            peer: "127.0.0.1".into(),
        };
        let made = record(&mut known, &req, b"{}", 1, Utc::now()).unwrap();
        assert_eq!(made.source, "sso.amazonaws.com");
        assert_eq!(made.region, "eu-west-1");
        assert_eq!(made.body["requestParameters"]["principalId"], "u-1");
        assert_eq!(made.body["requestParameters"]["permissionSetArn"], "ps");
    }
}
