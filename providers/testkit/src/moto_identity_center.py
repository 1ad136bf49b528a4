# moto's server with the IAM Identity Center operations it lacks, written from the public API
# references (sso-admin and identitystore), then started with moto's own command line:
#   python3 moto_identity_center.py -H 127.0.0.1 -p PORT
#
# Added: ListTagsForResource, TagResource, UntagResource and the permissions boundary calls
# of sso-admin; identitystore UpdateUser and UpdateGroup, and users' Website, Birthdate and
# enterprise extension. Corrected: CreateAccountAssignment
# provisions the permission set to the target account, and ListAccountsForProvisionedPermissionSet
# lists the accounts a permission set is provisioned to (moto answers with its own account
# only), as AWS documents.
import json
import sys

from moto.identitystore.exceptions import ResourceNotFoundException
from moto.identitystore.models import Name, identitystore_backends
from moto.identitystore.responses import IdentityStoreResponse
from moto.ssoadmin.exceptions import ResourceNotFoundException as SsoNotFound
from moto.ssoadmin.models import SSOAdminBackend
from moto.ssoadmin.responses import SSOAdminResponse


def _permission_set(response, arn):
    backend = response.ssoadmin_backend
    for ps in backend.permission_sets:
        if ps.permission_set_arn == arn:
            return ps
    raise SsoNotFound(message="Could not find PermissionSet with id " + str(arn))


def list_tags_for_resource(self):
    ps = _permission_set(self, self._get_param("ResourceArn"))
    return json.dumps({"Tags": list(ps.tags or [])})


def tag_resource(self):
    ps = _permission_set(self, self._get_param("ResourceArn"))
    tags = {t["Key"]: t["Value"] for t in (ps.tags or [])}
    for t in self._get_param("Tags") or []:
        tags[t["Key"]] = t["Value"]
    ps.tags = [{"Key": k, "Value": v} for k, v in tags.items()]
    return "{}"


def untag_resource(self):
    ps = _permission_set(self, self._get_param("ResourceArn"))
    gone = set(self._get_param("TagKeys") or [])
    ps.tags = [t for t in (ps.tags or []) if t["Key"] not in gone]
    return "{}"


def get_permissions_boundary_for_permission_set(self):
    ps = _permission_set(self, self._get_param("PermissionSetArn"))
    boundary = getattr(ps, "permissions_boundary", None)
    if boundary is None:
        raise SsoNotFound(message="The permission set has no permissions boundary.")
    return json.dumps({"PermissionsBoundary": boundary})


def put_permissions_boundary_to_permission_set(self):
    ps = _permission_set(self, self._get_param("PermissionSetArn"))
    ps.permissions_boundary = self._get_param("PermissionsBoundary")
    return "{}"


def delete_permissions_boundary_from_permission_set(self):
    ps = _permission_set(self, self._get_param("PermissionSetArn"))
    ps.permissions_boundary = None
    return "{}"


for f in (
    list_tags_for_resource,
    tag_resource,
    untag_resource,
    get_permissions_boundary_for_permission_set,
    put_permissions_boundary_to_permission_set,
    delete_permissions_boundary_from_permission_set,
):
    setattr(SSOAdminResponse, f.__name__, f)


def _provisioned(backend):
    if not hasattr(backend, "provisioned_accounts"):
        backend.provisioned_accounts = {}
    return backend.provisioned_accounts


_create_assignment = SSOAdminBackend.create_account_assignment


def create_account_assignment(self, instance_arn, target_id, target_type, permission_set_arn, principal_type, principal_id):
    _provisioned(self).setdefault(permission_set_arn, set()).add(target_id)
    return _create_assignment(self, instance_arn, target_id, target_type, permission_set_arn, principal_type, principal_id)


_provision = SSOAdminBackend.provision_permission_set


def provision_permission_set(self, instance_arn, permission_set_arn):
    _provisioned(self).setdefault(permission_set_arn, set()).add(self.account_id)
    return _provision(self, instance_arn, permission_set_arn)


def list_accounts_for_provisioned_permission_set(self, instance_arn, permission_set_arn):
    return sorted(_provisioned(self).get(permission_set_arn, set()))


_delete_set = SSOAdminBackend.delete_permission_set


def delete_permission_set(self, instance_arn, permission_set_arn):
    _provisioned(self).pop(permission_set_arn, None)
    return _delete_set(self, instance_arn, permission_set_arn)


SSOAdminBackend.create_account_assignment = create_account_assignment
SSOAdminBackend.provision_permission_set = provision_permission_set
SSOAdminBackend.list_accounts_for_provisioned_permission_set = list_accounts_for_provisioned_permission_set
SSOAdminBackend.delete_permission_set = delete_permission_set


def _pascal(value):
    """An attribute operation's camelCase members as the store's PascalCase ones."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def _store(response):
    backend = identitystore_backends[response.current_account][response.region]
    store_id = response._get_param("IdentityStoreId")
    return backend._IdentityStoreBackend__get_identity_store(store_id)


def update_user(self, operations=None):
    store = _store(self)
    user_id = self._get_param("UserId")
    if user_id not in store.users:
        raise ResourceNotFoundException(message="USER not found.", resource_type="USER")
    user = store.users[user_id]
    if operations is None:
        operations = self._get_param("Operations") or []
    for op in operations:
        path = op["AttributePath"]
        value = _pascal(op.get("AttributeValue"))
        field = path[:1].upper() + path[1:]
        if field == "Name":
            value = Name.from_dict(value) if value else None
        if field not in user._fields or field in ("UserId", "IdentityStoreId"):
            raise ResourceNotFoundException(message="Unknown attribute " + path, resource_type="USER")
        user = user._replace(**{field: value})
    store.users[user_id] = user
    return "{}"


def update_group(self):
    store = _store(self)
    group_id = self._get_param("GroupId")
    if group_id not in store.groups:
        raise ResourceNotFoundException(message="GROUP not found.", resource_type="GROUP")
    group = store.groups[group_id]
    for op in self._get_param("Operations") or []:
        field = op["AttributePath"][:1].upper() + op["AttributePath"][1:]
        group = group._replace(**{field: op.get("AttributeValue")})
    store.groups[group_id] = group
    return "{}"


IdentityStoreResponse.update_group = update_group

# moto drops the user attributes added to the API after it was written (Website, Birthdate)
# and the extensions (aws:identitystore:enterprise): kept here beside its users, shown by
# ListUsers and DescribeUser when their Extensions parameter names them, as AWS does.
_EXTRA = ("Website", "Birthdate")
_extras = {}


def _key(response, user_id):
    return (response._get_param("IdentityStoreId"), user_id)


def _show(response, user):
    extra = _extras.get(_key(response, user.get("UserId")), {})
    user.update({k: v for k, v in extra.items() if k in _EXTRA})
    wanted = response._get_param("Extensions") or []
    shown = {n: v for n, v in extra.get("Extensions", {}).items() if n in wanted}
    if shown:
        user["Extensions"] = shown
    return user


_create_user = IdentityStoreResponse.create_user


def create_user_with_extras(self):
    out = _create_user(self)
    extra = {k: self._get_param(k) for k in _EXTRA if self._get_param(k) is not None}
    extra["Extensions"] = dict(self._get_param("Extensions") or {})
    _extras[_key(self, json.loads(out)["UserId"])] = extra
    return out


_list_users = IdentityStoreResponse.list_users


def list_users_with_extras(self):
    out = json.loads(_list_users(self))
    out["Users"] = [_show(self, u) for u in out.get("Users", [])]
    return json.dumps(out)


_describe_user = IdentityStoreResponse.describe_user


def describe_user_with_extras(self):
    return json.dumps(_show(self, json.loads(_describe_user(self))))


_delete_user = IdentityStoreResponse.delete_user


def delete_user_with_extras(self):
    _extras.pop(_key(self, self._get_param("UserId")), None)
    return _delete_user(self)


def update_user_with_extras(self):
    extra = _extras.setdefault(_key(self, self._get_param("UserId")), {"Extensions": {}})
    rest = []
    for op in self._get_param("Operations") or []:
        path, value = op["AttributePath"], op.get("AttributeValue")
        field = path[:1].upper() + path[1:]
        if path.startswith("extensions."):
            name = path[len("extensions."):]
            if value is None:
                extra.setdefault("Extensions", {}).pop(name, None)
            else:
                extra.setdefault("Extensions", {})[name] = value
        elif field in _EXTRA:
            if value is None:
                extra.pop(field, None)
            else:
                extra[field] = value
        else:
            rest.append(op)
    return update_user(self, rest) if rest else "{}"


IdentityStoreResponse.create_user = create_user_with_extras
IdentityStoreResponse.list_users = list_users_with_extras
IdentityStoreResponse.describe_user = describe_user_with_extras
IdentityStoreResponse.delete_user = delete_user_with_extras
IdentityStoreResponse.update_user = update_user_with_extras

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
