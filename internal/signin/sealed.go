package signin

// ClientSecretAD is the associated data the client secret of the provider slug is sealed
// with (for Google, in the settings table; for the others, in oidc_providers), so that the
// key rotation can re-seal it.
func ClientSecretAD(slug string) string { return secretAD(slug) }
