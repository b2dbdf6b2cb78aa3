// Package adminrpc is the RPC that lets `invited admin`, `invited apikey
// create` and `invited backup` work on the data while `invited serve`
// holds the database file (bbolt lets one process open it for writing).
//
// The server listens on a unix socket beside the database with mode 0600:
// whoever may use the socket may read the database file anyway, so the
// socket adds no new way in and carries no credentials. Each connection
// carries one call: a gob-encoded header naming the method, then that
// method's typed request; the answer is a header with the error, if any,
// then the method's typed response. Requests are capped in size, and the
// answer to an unreadable one echoes nothing of it.
//
// Listen and Server.Serve run the server side; Dial returns a Client
// whose methods mirror the store's, each taking a context that bounds and
// cancels the call.
package adminrpc

import (
	"encoding/gob"
	"time"
	"unicode/utf8"

	"invited/db"
)

// requestHeader opens every call: the method whose request follows.
type requestHeader struct {
	Method string
}

// responseHeader opens every answer. Err is the remote error as a
// *db.Error (any other error is reduced to an EINTERNAL without its text,
// as over HTTP); the method's response follows only when Err is nil.
type responseHeader struct {
	Err *db.Error
}

// backupResponse announces that the database copy follows the answer on
// the connection, Bytes long.
type backupResponse struct {
	Bytes int64
}

func init() {
	// Event data holds these types inside interface values.
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

// defaultTimeout bounds one call whose context has no deadline (a
// backup has none unless its context sets one).
const defaultTimeout = 60 * time.Second

// maxRequestBytes caps one request read from the socket, far above any
// real one (they carry a few short fields), so that no client can make
// the server buffer without bound.
const maxRequestBytes = 1 << 20

// clip cuts s to at most n bytes (on a character boundary), marking the
// cut with "…", so that a value taken from a client cannot make a log
// line or a message arbitrarily long.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
