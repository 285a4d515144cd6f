"""OAuth2 provider (django-oauth-toolkit): applications owned by one tenant, scopes mapped onto
role capabilities, tokens accepted only on their application's tenant."""
