#!/usr/bin/env python3
"""Simulates an incident on an Okta org through its Management API, for the quickstart.

    okta-incident.py ORG_URL          (token from OKTA_API_TOKEN)

Deletes the largest group, deletes three users (deactivate, then delete), removes members from
another group, rewrites a password policy's name and priority, deletes a custom authorization
server (with its scopes, claims, policies and rules) and a SAML identity provider. Prints what it
did.
Standard library only; works against any Okta org the token may write to.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def call(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "SSWS " + token)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base = sys.argv[1].rstrip("/")
    token = os.environ.get("OKTA_API_TOKEN") or sys.exit("OKTA_API_TOKEN is not set")

    groups = call(base, token, "GET", "/api/v1/groups?limit=200&filter=type+eq+%22OKTA_GROUP%22")
    sized = []
    for g in groups[:40]:
        members = call(base, token, "GET", f"/api/v1/groups/{g['id']}/users?limit=200")
        sized.append((len(members), g, members))
    sized.sort(key=lambda t: -t[0])
    _, victim, victim_members = sized[0]
    call(base, token, "DELETE", f"/api/v1/groups/{victim['id']}")
    print(f"deleted group {victim['profile']['name']!r} ({len(victim_members)} members)")

    _, stripped, stripped_members = sized[1]
    for user in stripped_members[:10]:
        call(base, token, "DELETE", f"/api/v1/groups/{stripped['id']}/users/{user['id']}")
    print(f"removed {min(10, len(stripped_members))} members from group {stripped['profile']['name']!r}")

    users = call(base, token, "GET", "/api/v1/users?limit=3&filter=status+eq+%22ACTIVE%22")
    for user in users:
        call(base, token, "POST", f"/api/v1/users/{user['id']}/lifecycle/deactivate")
        call(base, token, "DELETE", f"/api/v1/users/{user['id']}")
        print(f"deleted user {user['profile']['login']}")

    policies = call(base, token, "GET", "/api/v1/policies?type=PASSWORD")
    policy = next(p for p in policies if p.get("system") is not True) if any(
        p.get("system") is not True for p in policies) else policies[0]
    changed = dict(policy)
    for field in ("_links", "_embedded", "created", "lastUpdated"):
        changed.pop(field, None)
    changed["description"] = "weakened during the incident"
    if isinstance(changed.get("settings"), dict) and isinstance(changed["settings"].get("password"), dict):
        complexity = changed["settings"]["password"].get("complexity")
        if isinstance(complexity, dict):
            complexity["minLength"] = 4
    call(base, token, "PUT", f"/api/v1/policies/{policy['id']}", changed)
    print(f"changed password policy {policy['name']!r}")

    servers = call(base, token, "GET", "/api/v1/authorizationServers?limit=200")
    custom = [s for s in servers if s["name"] != "default" and s["status"] == "ACTIVE"]
    if custom:
        server = custom[0]
        call(base, token, "POST", f"/api/v1/authorizationServers/{server['id']}/lifecycle/deactivate")
        call(base, token, "DELETE", f"/api/v1/authorizationServers/{server['id']}")
        print(f"deleted authorization server {server['name']!r} with its scopes, claims and policies")

    idps = call(base, token, "GET", "/api/v1/idps?type=SAML2&limit=200")
    if idps:
        idp = idps[0]
        call(base, token, "DELETE", f"/api/v1/idps/{idp['id']}")
        print(f"deleted SAML identity provider {idp['name']!r}")


if __name__ == "__main__":
    main()
