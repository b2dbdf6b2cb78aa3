package server

import (
	"context"

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
