// Package db is invited's domain and its storage: users and their roles,
// signup links, invitations (one at a time or in batches), organizations, groups, apps, API keys,
// sessions, passkeys (the WebAuthn credentials; the ceremonies are the
// server's), TOTP second factors with their recovery codes and the login
// step that asks for them, the OpenID Connect signing keys, the audit log, the email
// outbox, and webhooks with their deliveries (queued with the audit event
// of the change they tell of), kept in one bbolt file by Store. Prune
// deletes what has expired and what has outlived its Retention.
//
// It knows nothing of HTTP, URLs or rendering: the server and the TUI turn
// its values into answers and screens. Its rules hold whoever calls it:
// validation, address normalisation, the role ceiling (a caller never
// reaches a link or invitation above their own role), login throttling,
// link limits and uniqueness under any concurrency. Errors are *Error
// values with a Code (EINVALID, ENOTFOUND, ECONFLICT, …) and a message that
// says what to fix.
//
// Password hashing is slow on purpose, so it never runs inside a write
// transaction: Hasher bounds how many hashes run at once, and Accounts
// runs each account flow (signup through a link, accepting an invitation,
// logging in, changing a password) as one cheap read that refuses early,
// the hash outside any transaction, then one write that checks again. A
// signup or acceptance through a link or invitation that names an app can
// also sign the person in, in that same write (JoinWithLink,
// JoinInvitation), never past a pending verification or a second factor.
package db
