package audit

// Event types of the complete account flows: addresses, provider sign-in, two-factor
// sign-in and personal API tokens.
const (
	EmailVerified        = "email_verified"
	EmailChanged         = "email_changed"
	IdentityLinked       = "identity_linked"
	IdentityUnlinked     = "identity_unlinked"
	TwoFactorEnabled     = "two_factor_enabled"
	TwoFactorDisabled    = "two_factor_disabled"
	RecoveryCodesRenewed = "recovery_codes_renewed"
	APITokenCreated      = "api_token_created"
	APITokenRevoked      = "api_token_revoked"
)

// accountTypes lists the event types above.
func accountTypes() []string {
	return []string{EmailVerified, EmailChanged, IdentityLinked, IdentityUnlinked,
		TwoFactorEnabled, TwoFactorDisabled, RecoveryCodesRenewed, APITokenCreated,
		APITokenRevoked}
}
