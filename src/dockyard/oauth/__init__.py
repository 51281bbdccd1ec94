"""Dockyard as an OpenID Connect provider (OAuth apps, authorization codes, tokens, RS256 id_tokens)
and as an OpenID Connect client of an organisation's own provider (SSO log-in)."""
