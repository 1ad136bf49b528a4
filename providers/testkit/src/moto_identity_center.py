# moto's server with the IAM Identity Center operations it lacks, written from the public API
# references (sso-admin and identitystore), then started with moto's own command line:
#   python3 moto_identity_center.py -H 127.0.0.1 -p PORT
#
# Added: ListTagsForResource, TagResource, UntagResource and the permissions boundary calls
# of sso-admin; identitystore UpdateUser and UpdateGroup. Corrected: CreateAccountAssignment
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


def update_user(self):
    store = _store(self)
    user_id = self._get_param("UserId")
    if user_id not in store.users:
        raise ResourceNotFoundException(message="USER not found.", resource_type="USER")
    user = store.users[user_id]
    for op in self._get_param("Operations") or []:
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


IdentityStoreResponse.update_user = update_user
IdentityStoreResponse.update_group = update_group

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
