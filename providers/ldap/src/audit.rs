//! Who changed what, as far as a directory says: the entries under `base_dn` modified within
//! the window (`modifyTimestamp`, on Active Directory `whenChanged`), each read as one event
//! with the DN that made the last change (`modifiersName`, kept by OpenLDAP). Active Directory
//! keeps no author on the entry, and no directory keeps deletions or earlier changes on it:
//! those have no event. Reading needs nothing beyond the backup's read access.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use iamsnap_provider::{Actor, ActorKind, AuditEvent, AuditLog, ProviderError, Target, Window};

use crate::flavor::Flavor;
use crate::read::{flavor, in_scope, search_bases};
use crate::records;
use crate::{LdapProvider, dn::Dn};

/// `YYYYMMDDHHMMSSZ`, with the fraction Active Directory adds (`.0Z`) dropped.
fn generalized(text: &str) -> Option<DateTime<Utc>> {
    let digits: String = text.chars().take(14).collect();
    NaiveDateTime::parse_from_str(&digits, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%SZ").to_string()
}

#[async_trait]
impl AuditLog for LdapProvider {
    fn permission(&self) -> &'static str {
        "read access to modifyTimestamp and modifiersName (whenChanged on Active Directory)"
    }

    async fn events(
        &self,
        window: Window,
        _targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let source = &self.source;
        let flavor = flavor(source).await?;
        let (changed, created) = match flavor {
            Flavor::ActiveDirectory => ("whenChanged", "whenCreated"),
            _ => ("modifyTimestamp", "createTimestamp"),
        };
        let filter = format!(
            "(&({changed}>={})(!({changed}>={})))",
            stamp(window.since),
            stamp(window.until + chrono::Duration::seconds(1))
        );
        let attrs = [flavor.id_attribute(), changed, created, "modifiersName"];
        let mut events = Vec::new();
        for (base, scope) in search_bases(source) {
            let mut pages = source
                .connection
                .search(&base, scope, &filter, &attrs, source.config.page_size())
                .await?;
            while let Some(page) = pages.next().await? {
                for entry in page {
                    let Some(dn) = Dn::parse(&entry.dn).filter(|d| in_scope(source, d)) else {
                        continue;
                    };
                    let first = |name: &str| entry.text(name).into_iter().next();
                    let Some(time) = first(changed).as_deref().and_then(generalized) else {
                        continue;
                    };
                    let operation = match first(created).as_deref().and_then(generalized) {
                        Some(at) if at == time => "add",
                        _ => "modify",
                    };
                    let actor = match first("modifiersName") {
                        Some(modifier) => Actor {
                            kind: ActorKind::User,
                            id: modifier.clone(),
                            name: modifier,
                        },
                        None => Actor {
                            kind: ActorKind::Unknown,
                            id: String::new(),
                            name: String::new(),
                        },
                    };
                    events.push(AuditEvent {
                        time,
                        actor,
                        operation: operation.to_string(),
                        targets: vec![Target {
                            id: records::id_of(&entry, flavor),
                            kind: "entry".into(),
                            name: dn.to_string(),
                            record: None,
                        }],
                        client_ip: None,
                        outcome: "success".into(),
                        destructive: None,
                    });
                }
            }
        }
        events.retain(|e| e.time >= window.since && e.time < window.until);
        events.sort_by_key(|e| e.time);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_of_both_servers_are_read() {
        let t = generalized("20261206103000Z").unwrap();
        assert_eq!(stamp(t), "20261206103000Z");
        assert_eq!(generalized("20261206103000.0Z"), Some(t));
        assert_eq!(generalized("yesterday"), None);
    }
}
