//! The entry iamsnap binds as, when it lives in the backed-up subtree, and what gives it its
//! rights there: the groups that hold it (access rules name groups) and the entries above it
//! (deleting one deletes it). A restore never deletes or changes them.

use iamsnap_provider::{ProviderError, SelfIdentity};
use ldap3::Scope;

use crate::Source;
use crate::dn::{Dn, key_of};
use crate::kinds::{self, CONTAINER, MEMBERSHIP};
use crate::read::in_scope;
use crate::records;

pub async fn self_identity(source: &Source) -> Result<Option<SelfIdentity>, ProviderError> {
    let bind_dn = source.connection.bind_dn().to_string();
    let Some(dn) = Dn::parse(&bind_dn).filter(|d| d.is_under(&source.base) && in_scope(source, d))
    else {
        return Ok(None);
    };
    // The root DN of a database usually has no entry: then no record is the identity.
    let Some(entry) = source
        .connection
        .read(&bind_dn, &["objectClass", "uid"])
        .await?
    else {
        return Ok(None);
    };
    let key = key_of(&dn, &source.base);
    let kind = kinds::kind_of(&records::object_classes(&entry));
    let mut me = SelfIdentity::new(kind, &key);
    let mut above = dn.parent();
    while let Some(parent) = above.filter(|p| p.is_under(&source.base) && *p != source.base) {
        me.grant(
            CONTAINER,
            key_of(&parent, &source.base),
            format!("holds {key}: deleting it deletes {key}"),
        );
        above = parent.parent();
    }
    let escaped = ldap3::ldap_escape(&bind_dn);
    let mut filter = format!("(|(member={escaped})(uniqueMember={escaped})");
    for uid in entry.text("uid") {
        filter.push_str(&format!("(memberUid={})", ldap3::ldap_escape(&uid)));
    }
    filter.push(')');
    let mut pages = source
        .connection
        .search(
            &source.config.base_dn,
            Scope::Subtree,
            &filter,
            &["1.1"],
            source.config.page_size(),
        )
        .await?;
    let uid = entry.text("uid");
    while let Some(page) = pages.next().await? {
        for group in page {
            let Some(group_dn) = Dn::parse(&group.dn) else {
                continue;
            };
            let group_key = key_of(&group_dn, &source.base);
            // The membership may be by DN or by uid: protect whichever records exist.
            let members = std::iter::once(key.clone()).chain(uid.iter().cloned());
            for member in members {
                me.grant(
                    MEMBERSHIP,
                    format!("{group_key}|{member}"),
                    format!("makes {key} a member of {group_key}, which access rules may name"),
                );
            }
        }
    }
    Ok(Some(me))
}
