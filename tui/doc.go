// Package tui is the admin terminal UI (`invited admin`), built on Bubble
// Tea: a root model with a tab per screen (signup links, invitations,
// users, API keys, organizations, the audit log, groups, apps, webhooks),
// each screen a shared list component plus its own keys, forms and
// details, usable at 80x24 over SSH without a mouse.
//
// Everything it does to the data goes through Backend, with a context per
// operation. SwitchingBackend opens the database file only for the moment
// an operation takes and, when `invited serve` holds the file, talks to it
// over its admin socket instead (server/adminrpc), switching back and
// forth by itself; DirectBackend is the store alone. The package never
// imports the server.
package tui
