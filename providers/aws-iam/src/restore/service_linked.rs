//! Service-linked roles: roles an AWS service owns (path `/aws-service-role/SERVICE/`). IAM
//! answers `UnmodifiableEntity` to every write of one except through the service's own calls,
//! so a restore only ever re-creates a missing one with `CreateServiceLinkedRole`; it never
//! updates or deletes one, nor its policies, which the service attaches itself.

use super::*;

/// The path prefix IAM gives every service-linked role.
const PATH_PREFIX: &str = "/aws-service-role/";

/// The name prefix IAM gives every service-linked role (`AWSServiceRoleForAutoScaling`). A
/// policy attachment or inline policy names its role by name only, so this is how their
/// records tell they belong to one.
const NAME_PREFIX: &str = "AWSServiceRoleFor";

/// The service of a service-linked role's record (`autoscaling.amazonaws.com`), from its path.
pub(super) fn service_of(record: &Record) -> Option<&str> {
    if record.kind != kinds::ROLE {
        return None;
    }
    path_of(record)
        .strip_prefix(PATH_PREFIX)?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// Whether a policy attachment or inline policy record belongs to a service-linked role.
fn of_service_linked_role(record: &Record) -> bool {
    matches!(
        record.kind.as_str(),
        kinds::POLICY_ATTACHMENT | kinds::INLINE_POLICY
    ) && record
        .key
        .strip_prefix("role/")
        .is_some_and(|rest| rest.starts_with(NAME_PREFIX))
}

/// Why restore never performs `action` on `record`: it is, or belongs to, a service-linked role.
pub(crate) fn refuses(action: Action, record: &Record) -> Option<String> {
    if let Some(service) = service_of(record) {
        return (action == Action::Delete).then(|| {
            format!(
                "{} is the service-linked role of {service}: only the service deletes it (aws iam delete-service-linked-role --role-name {} once {service} no longer uses it)",
                record.key, record.key
            )
        });
    }
    of_service_linked_role(record).then(|| {
        let role = record.key.split('|').next().unwrap_or_default();
        format!(
            "{role} is a service-linked role: its service attaches and removes its policies, IAM refuses to"
        )
    })
}

/// A live service-linked role is left as its service keeps it: the state restore can reach is
/// the live one, so no update is ever planned.
pub(super) fn reachable(mut desired: Record, live: &Record) -> Record {
    if service_of(live).is_some() {
        desired.key = live.key.clone();
        desired.attrs = live.attrs.clone();
        desired.refs = live.refs.clone();
    }
    desired
}

/// The custom suffix of service-linked role `name` of `service`, if it has one. A service whose
/// principal has a label before the service's own (`custom-resource.application-autoscaling
/// .amazonaws.com`) names its role with one underscore already
/// (`AWSServiceRoleForApplicationAutoScaling_CustomResource`); what follows the next underscore
/// is the suffix given at creation.
fn custom_suffix<'a>(name: &'a str, service: &str) -> Option<&'a str> {
    let labels = service.split('.').count();
    let built_in = usize::from((labels > 3 && !service.ends_with(".com.cn")) || labels > 4);
    name.splitn(built_in + 2, '_')
        .nth(built_in + 1)
        .filter(|s| !s.is_empty())
}

/// Re-creates a missing service-linked role with `CreateServiceLinkedRole`; one that exists is
/// left as it is.
pub(super) async fn create(
    ctx: &Ctx<'_>,
    desired: &Record,
    service: &str,
) -> Result<Done, ApiError> {
    let name = &desired.key;
    match ctx
        .client
        .get_role()
        .role_name(name)
        .send()
        .await
        .api("GetRole")
    {
        Ok(out) => {
            let role = out
                .role()
                .ok_or_else(|| ApiError::local("GetRole", "the answer has no Role"))?;
            return Ok(Done::Unchanged(role.role_id().to_string()));
        }
        Err(e) if e.is("NoSuchEntity") => {}
        Err(e) => return Err(e),
    }
    let out = ctx
        .client
        .create_service_linked_role()
        .aws_service_name(service)
        .set_description(opt_attr(desired, "description").map(str::to_string))
        .set_custom_suffix(custom_suffix(name, service).map(str::to_string))
        .send()
        .await
        .api("CreateServiceLinkedRole")?;
    let role = out
        .role()
        .ok_or_else(|| ApiError::local("CreateServiceLinkedRole", "the answer has no Role"))?;
    if role.role_name() != name {
        return Err(ApiError::local(
            "CreateServiceLinkedRole",
            &format!(
                "{service} created its role as {} where the snapshot has {name}; compare the two and delete the one not wanted",
                role.role_name()
            ),
        ));
    }
    ctx.state
        .arns
        .lock()
        .await
        .insert(role.role_id().to_string(), role.arn().to_string());
    Ok(Done::Changed(role.role_id().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(name: &str, path: &str) -> Record {
        Record::new(
            kinds::ROLE,
            "AROA1",
            name,
            json!({"path": path, "description": null}),
            vec![],
        )
    }

    #[test]
    fn the_service_comes_from_the_path() {
        let slr = role(
            "AWSServiceRoleForAutoScaling",
            "/aws-service-role/autoscaling.amazonaws.com/",
        );
        assert_eq!(service_of(&slr), Some("autoscaling.amazonaws.com"));
        assert_eq!(service_of(&role("deploy", "/")), None);
        assert_eq!(service_of(&role("x", "/aws-service-role/")), None);
    }

    #[test]
    fn never_deleted_nor_its_policies_touched() {
        let slr = role(
            "AWSServiceRoleForAutoScaling",
            "/aws-service-role/autoscaling.amazonaws.com/",
        );
        assert!(
            refuses(Action::Delete, &slr)
                .unwrap()
                .contains("delete-service-linked-role --role-name AWSServiceRoleForAutoScaling")
        );
        assert_eq!(refuses(Action::Create, &slr), None);
        assert_eq!(refuses(Action::Delete, &role("deploy", "/")), None);
        let attachment = Record::new(
            kinds::POLICY_ATTACHMENT,
            "AROA1|arn",
            "role/AWSServiceRoleForAutoScaling|arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy",
            json!({}),
            vec![],
        );
        assert!(refuses(Action::Create, &attachment).is_some());
        let ordinary = Record::new(
            kinds::POLICY_ATTACHMENT,
            "AROA2|arn",
            "role/deploy|arn:aws:iam::aws:policy/ReadOnlyAccess",
            json!({}),
            vec![],
        );
        assert_eq!(refuses(Action::Delete, &ordinary), None);
    }

    #[test]
    fn a_live_one_is_never_updated() {
        let live = role(
            "AWSServiceRoleForAutoScaling",
            "/aws-service-role/autoscaling.amazonaws.com/",
        );
        let mut desired = live.clone();
        desired.attrs["description"] = json!("changed");
        assert_eq!(reachable(desired, &live).attrs, live.attrs);
        let mut ordinary = role("deploy", "/");
        ordinary.attrs["description"] = json!("changed");
        assert_eq!(
            reachable(ordinary.clone(), &role("deploy", "/")).attrs,
            ordinary.attrs
        );
    }

    #[test]
    fn custom_suffixes_are_told_from_built_in_underscores() {
        let plain = "autoscaling.amazonaws.com";
        assert_eq!(custom_suffix("AWSServiceRoleForAutoScaling", plain), None);
        assert_eq!(
            custom_suffix("AWSServiceRoleForAutoScaling_fleet", plain),
            Some("fleet")
        );
        let labelled = "custom-resource.application-autoscaling.amazonaws.com";
        assert_eq!(
            custom_suffix(
                "AWSServiceRoleForApplicationAutoScaling_CustomResource",
                labelled
            ),
            None
        );
        assert_eq!(
            custom_suffix(
                "AWSServiceRoleForApplicationAutoScaling_CustomResource_mine",
                labelled
            ),
            Some("mine")
        );
        assert_eq!(
            custom_suffix("AWSServiceRoleForX_y", "x.amazonaws.com.cn"),
            Some("y")
        );
    }
}
