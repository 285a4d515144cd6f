"""Single sign-on per organization: one OpenID Connect connection each, configured by its
owner or admins at /api/v1/sso/, with the email domains it covers, its policy (optional, or
enforced: no password login for those domains except the owner's) and the role people it
creates just in time get. A login ends with the same tenant-bound JWT pair as a password one."""
