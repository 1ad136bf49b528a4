//! Just enough of Windows security descriptors ([MS-DTYP] 2.4.6, self-relative form) to ask
//! one question of an Active Directory object's DACL without writing: does it grant an access
//! right (optionally for one object type, a class or an extended right, by GUID) to any of a
//! set of SIDs? ACEs are weighed in order, the first that allows or denies the right deciding
//! it, as Windows' access check does for a single right ([MS-ADTS] 5.1.3.3).

/// `DELETE`: delete the object itself.
pub const DELETE: u32 = 0x0001_0000;
/// `ADS_RIGHT_DS_DELETE_CHILD`: delete children (of the class the object type names).
pub const DELETE_CHILD: u32 = 0x0000_0002;
/// `ADS_RIGHT_DS_DELETE_TREE`: delete the object and its subtree.
pub const DELETE_TREE: u32 = 0x0000_0040;
/// `ADS_RIGHT_DS_CONTROL_ACCESS`: an extended right (the object type names which).
pub const CONTROL_ACCESS: u32 = 0x0000_0100;

/// `Reanimate-Tombstones`, the extended right a deleted object is brought back with.
pub const REANIMATE_TOMBSTONES: Guid = Guid::from_text("45ec5156-db7e-47bb-b53f-dbeb2d03c40f");

/// A GUID as AD stores it: the first three fields little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guid([u8; 16]);

impl Guid {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as Microsoft's documentation writes them.
    pub const fn from_text(text: &str) -> Guid {
        let t = text.as_bytes();
        // Hex digit positions of each byte in the text, in the stored (mixed-endian) order.
        const AT: [usize; 16] = [6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = [0u8; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = hex(t[AT[i]]) << 4 | hex(t[AT[i] + 1]);
            i += 1;
        }
        Guid(out)
    }
}

const fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hexadecimal digit"),
    }
}

/// The `schemaIDGUID` of the classes a restore creates ([MS-ADSC]).
pub fn class_guid(class: &str) -> Option<Guid> {
    Some(match class {
        "user" => Guid::from_text("bf967aba-0de6-11d0-a285-00aa003049e2"),
        "group" => Guid::from_text("bf967a9c-0de6-11d0-a285-00aa003049e2"),
        "organizationalUnit" => Guid::from_text("bf967aa5-0de6-11d0-a285-00aa003049e2"),
        "domainDNS" => Guid::from_text("19195a5b-6da0-11d0-afd3-00c04fd930c9"),
        _ => return None,
    })
}

/// A SID in its binary form ([MS-DTYP] 2.4.2.2), compared byte for byte.
pub type Sid = Vec<u8>;

/// `S-1-1-0` (Everyone) and `S-1-5-11` (Authenticated Users), which every bound account holds
/// besides the SIDs of its `tokenGroups`.
pub fn implicit_sids() -> Vec<Sid> {
    vec![
        vec![1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
        vec![1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0],
    ]
}

/// One ACE of a DACL, as far as an access check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ace {
    allow: bool,
    inherit_only: bool,
    mask: u32,
    object_type: Option<Guid>,
    inherited_object_type: Option<Guid>,
    sid: Sid,
}

/// The DACL of a self-relative security descriptor; `None` when the bytes are not one.
/// An absent DACL (which grants everything) is an empty list here: it is never found on
/// directory objects, and granting nothing errs on the side of saying a right is missing.
fn dacl(sd: &[u8]) -> Option<Vec<Ace>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(sd.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(sd.get(at..at + 4)?.try_into().ok()?));
    let offset = u32_at(16)? as usize;
    if offset == 0 {
        return Some(Vec::new());
    }
    let count = u16_at(offset + 4)? as usize;
    let mut at = offset + 8;
    let mut aces = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = *sd.get(at)?;
        let flags = *sd.get(at + 1)?;
        let size = u16_at(at + 2)? as usize;
        let body = sd.get(at + 4..at + size)?;
        let mask = u32::from_le_bytes(body.get(0..4)?.try_into().ok()?);
        // 0/1: ACCESS_ALLOWED/DENIED_ACE; 5/6: their OBJECT forms ([MS-DTYP] 2.4.4.3).
        let (allow, object) = match kind {
            0 => (true, false),
            1 => (false, false),
            5 => (true, true),
            6 => (false, true),
            _ => {
                at += size;
                continue;
            }
        };
        let (mut object_type, mut inherited_object_type, mut rest) = (None, None, &body[4..]);
        if object {
            let present = u32::from_le_bytes(rest.get(0..4)?.try_into().ok()?);
            rest = &rest[4..];
            let guid = |rest: &mut &[u8]| -> Option<Guid> {
                let g = Guid(rest.get(0..16)?.try_into().ok()?);
                *rest = &rest[16..];
                Some(g)
            };
            if present & 1 != 0 {
                object_type = Some(guid(&mut rest)?);
            }
            if present & 2 != 0 {
                inherited_object_type = Some(guid(&mut rest)?);
            }
        }
        let sub_authorities = *rest.get(1)? as usize;
        let sid = rest.get(..8 + 4 * sub_authorities)?.to_vec();
        aces.push(Ace {
            allow,
            inherit_only: flags & 0x08 != 0,
            mask,
            object_type,
            inherited_object_type,
            sid,
        });
        at += size;
    }
    Some(aces)
}

/// Whether the security descriptor `sd` of an object of class `class` grants `right` (one
/// bit) for `object_type` to any of `sids`. `None`: the bytes are not a security descriptor.
pub fn grants(
    sd: &[u8],
    class: Option<Guid>,
    sids: &[Sid],
    right: u32,
    object_type: Option<Guid>,
) -> Option<bool> {
    for ace in dacl(sd)? {
        // Inherit-only ACEs are for the children; an ACE for another class's objects is not
        // this object's.
        if ace.inherit_only
            || ace.mask & right == 0
            || !sids.contains(&ace.sid)
            || ace.inherited_object_type.is_some_and(|t| Some(t) != class)
        {
            continue;
        }
        // An ACE without an object type covers every type; one with a type, that type only.
        if ace.object_type.is_none() || ace.object_type == object_type {
            return Some(ace.allow);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-relative security descriptor holding a DACL of `aces`.
    fn descriptor(aces: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = aces.concat();
        let mut sd = vec![1, 0, 0x04, 0x80];
        sd.extend_from_slice(&[0; 12]);
        sd.extend_from_slice(&20u32.to_le_bytes());
        sd.extend_from_slice(&[2, 0]);
        sd.extend_from_slice(&((8 + body.len()) as u16).to_le_bytes());
        sd.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        sd.extend_from_slice(&[0, 0]);
        sd.extend_from_slice(&body);
        sd
    }

    fn ace(kind: u8, flags: u8, mask: u32, object: Option<Guid>, sid: &Sid) -> Vec<u8> {
        let mut body = mask.to_le_bytes().to_vec();
        if kind >= 5 {
            body.extend_from_slice(&(object.is_some() as u32).to_le_bytes());
            if let Some(Guid(g)) = object {
                body.extend_from_slice(&g);
            }
        }
        body.extend_from_slice(sid);
        let mut out = vec![kind, flags];
        out.extend_from_slice(&((4 + body.len()) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// `S-1-5-21-1-2-3-RID`.
    fn domain_sid(rid: u32) -> Sid {
        let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for part in [21, 1, 2, 3, rid] {
            sid.extend_from_slice(&part.to_le_bytes());
        }
        sid
    }

    #[test]
    fn guids_are_stored_with_their_first_fields_little_endian() {
        assert_eq!(
            REANIMATE_TOMBSTONES.0,
            [
                0x56, 0x51, 0xec, 0x45, 0x7e, 0xdb, 0xbb, 0x47, 0xb5, 0x3f, 0xdb, 0xeb, 0x2d, 0x03,
                0xc4, 0x0f
            ]
        );
    }

    #[test]
    fn the_first_ace_naming_the_right_decides_it() {
        let admins = domain_sid(512);
        let user = domain_sid(1105);
        let sd = descriptor(&[
            ace(6, 0, CONTROL_ACCESS, Some(REANIMATE_TOMBSTONES), &user),
            ace(5, 0, CONTROL_ACCESS, Some(REANIMATE_TOMBSTONES), &admins),
            ace(0, 0, 0x000F_01FF, None, &admins),
            ace(0, 0x08, DELETE, None, &user),
        ]);
        let domain = class_guid("domainDNS");
        let may = |sids: &[Sid], right, object| grants(&sd, domain, sids, right, object).unwrap();
        assert!(may(
            std::slice::from_ref(&admins),
            CONTROL_ACCESS,
            Some(REANIMATE_TOMBSTONES)
        ));
        assert!(may(std::slice::from_ref(&admins), DELETE, None));
        // Denied before the group's grant is reached.
        assert!(!may(
            &[user.clone(), admins.clone()],
            CONTROL_ACCESS,
            Some(REANIMATE_TOMBSTONES)
        ));
        // Inherit-only: for the children, not this object.
        assert!(!may(std::slice::from_ref(&user), DELETE, None));
        // An extended right granted for one object type is not another.
        assert!(!may(&[user], CONTROL_ACCESS, class_guid("user")));
        assert_eq!(grants(&[1, 0], None, &[], DELETE, None), None);
    }
}
