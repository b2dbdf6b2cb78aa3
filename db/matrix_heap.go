//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package db

import "errors"

// mapWords has no mapping to offer on this system: matrices live on Go's
// heap, still reused from one hash to the next.
func mapWords(int) ([]uint64, func(), error) {
	return nil, nil, errors.New("no anonymous mappings here")
}
