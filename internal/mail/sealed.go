package mail

// PasswordAD is the associated data the saved SMTP password is sealed with, so that the key
// rotation can re-seal it.
const PasswordAD = passwordAD
