package provider

import "crypto/ed25519"

// SetWebhookKeys installs keys as freshly fetched, for tests without a key server.
func SetWebhookKeys(w *Webhooks, keys []ed25519.PublicKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keys, w.fetched = keys, w.now()
}
