package cli

// SetPassphraseWork lowers the scrypt work factor of passphrase backups for the tests of
// package cli_test, and returns a function that puts it back.
func SetPassphraseWork(logN int) (restore func()) {
	old := passphraseWork
	passphraseWork = logN
	return func() { passphraseWork = old }
}
