//! Which directory server a source is: what the id of an entry is, which attributes the server
//! maintains itself, and which controls a restore may use.

use serde::Deserialize;

/// The directory server behind a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// OpenLDAP's slapd: ids are `entryUUID`, kept on re-created entries with the Relax
    /// Rules control.
    #[serde(rename = "openldap")]
    OpenLdap,
    /// Microsoft Active Directory or Samba AD: ids are `objectGUID`.
    ActiveDirectory,
    /// Any other LDAPv3 server: ids are `entryUUID` where the server has them, else the DN.
    Generic,
}

/// `supportedCapabilities` value of every Active Directory domain controller
/// (LDAP_CAP_ACTIVE_DIRECTORY_OID).
const AD_CAPABILITY: &str = "1.2.840.113556.1.4.800";

/// Operational attributes slapd and other servers maintain themselves: never restored,
/// never compared. `memberOf` is derived from the groups' member lists, which are records of
/// their own.
const MAINTAINED: &[&str] = &[
    "entryuuid",
    "entrycsn",
    "entrydn",
    "createtimestamp",
    "creatorsname",
    "modifytimestamp",
    "modifiersname",
    "structuralobjectclass",
    "subschemasubentry",
    "hassubordinates",
    "numsubordinates",
    "memberof",
    "contextcsn",
    "pwdchangedtime",
    "pwdfailuretime",
    "pwdaccountlockedtime",
    "pwdhistory",
    "pwdgraceusetime",
    "authtimestamp",
    "nsuniqueid",
];

/// What Active Directory maintains itself beyond the attributes its schema marks system-only
/// (see [`crate::schema`]): logon counters, password and lockout times, the account type it
/// derives from `userAccountControl`, the category it derives from the class, the marks of
/// protected accounts, the mark the server puts on its own critical objects, the domain's RID
/// pool and operation-master roles (putting an old pool back would issue SIDs twice), and what
/// reanimating a deleted object leaves behind. `primaryGroupID`
/// can only name a group the account is a member of already, which a restore puts back after
/// the account: it is left as the server has it.
const AD_MAINTAINED: &[&str] = &[
    "objectguid",
    "badpwdcount",
    "badpasswordtime",
    "lastlogon",
    "lastlogoff",
    "lastlogontimestamp",
    "logoncount",
    "pwdlastset",
    "lockouttime",
    "samaccounttype",
    "objectcategory",
    "primarygroupid",
    "admincount",
    "operatorcount",
    "memberof",
    "lastknownparent",
    "isdeleted",
    "isrecycled",
    "msds-lastknownrdn",
    "whenchanged",
    "whencreated",
    "usnchanged",
    "usncreated",
    "dscorepropagationdata",
    "distinguishedname",
    "name",
    "instancetype",
    "ntsecuritydescriptor",
    "iscriticalsystemobject",
    "ridavailablepool",
    "fsmoroleowner",
    "msds-keyversionnumber",
    "replpropertymetadata",
];

/// Attributes of Active Directory a record keeps that no restore writes: the SID is issued by
/// the domain (a reanimated object keeps it, a re-created one gets a new one), and so is the
/// history of SIDs an account had in other domains.
const AD_NEVER_WRITTEN: &[&str] = &["objectsid", "sidhistory"];

impl Flavor {
    /// The flavor a root DSE describes: its `objectClass`, `vendorName` and
    /// `supportedCapabilities` values.
    pub fn detect(object_classes: &[String], vendor: &[String], capabilities: &[String]) -> Flavor {
        if capabilities.iter().any(|c| c == AD_CAPABILITY) {
            Flavor::ActiveDirectory
        } else if object_classes
            .iter()
            .any(|c| c.eq_ignore_ascii_case("OpenLDAProotDSE"))
            || vendor.iter().any(|v| v.contains("OpenLDAP"))
        {
            Flavor::OpenLdap
        } else {
            Flavor::Generic
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "openldap",
            Flavor::ActiveDirectory => "active-directory",
            Flavor::Generic => "generic",
        }
    }

    /// The attribute that identifies an entry across renames and moves.
    pub fn id_attribute(self) -> &'static str {
        match self {
            Flavor::ActiveDirectory => "objectGUID",
            _ => "entryUUID",
        }
    }

    /// Whether a re-created entry can be given its old id back (Relax Rules control; Active
    /// Directory keeps it by reanimating the deleted object instead).
    pub fn keeps_ids(self) -> bool {
        self == Flavor::OpenLdap
    }

    /// Whether the server maintains `attribute` itself (lower-case name, options stripped).
    pub fn maintains(self, attribute: &str) -> bool {
        match self {
            Flavor::ActiveDirectory => AD_MAINTAINED.contains(&attribute),
            _ => MAINTAINED.contains(&attribute),
        }
    }

    /// Whether a restore may write `attribute` (lower-case name, options stripped) of an
    /// entry the record keeps.
    pub fn writes(self, attribute: &str) -> bool {
        self != Flavor::ActiveDirectory || !AD_NEVER_WRITTEN.contains(&attribute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_server_from_its_root_dse() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Flavor::detect(&s(&["top", "OpenLDAProotDSE"]), &[], &[]),
            Flavor::OpenLdap
        );
        assert_eq!(
            Flavor::detect(&s(&["top"]), &[], &s(&["1.2.840.113556.1.4.800"])),
            Flavor::ActiveDirectory
        );
        assert_eq!(
            Flavor::detect(&s(&["top"]), &s(&["389 Project"]), &[]),
            Flavor::Generic
        );
    }
}
