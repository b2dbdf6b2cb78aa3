package server

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"invited/db"
)

// holdSlot takes one hashing slot, signals holding, and gives the slot
// back once release is closed.
func holdSlot(h *db.Hasher, holding chan<- struct{}, release <-chan struct{}) {
	done, err := h.Hold(context.Background())
	if err != nil {
		panic(err)
	}
	close(holding)
	<-release
	done()
}

var farFuture = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

func mustPrefixes(tb testing.TB, list ...string) []netip.Prefix {
	tb.Helper()
	p, err := ParseTrustedProxies(list)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
