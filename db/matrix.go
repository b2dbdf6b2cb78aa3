package db

// A matrix is the memory one argon2id run works in, kept by the Hasher
// from one hash to the next (see Hasher). words is nil when the memory
// could not be had; the run then allocates its own, as upstream argon2
// does.
type matrix struct {
	words []uint64
	unmap func()
}

// newMatrix returns a matrix of n words: mapped outside Go's heap where
// the system allows (mapWords), or else on the heap.
func newMatrix(n int) *matrix {
	if words, unmap, err := mapWords(n); err == nil {
		return &matrix{words: words, unmap: unmap}
	}
	return &matrix{words: make([]uint64, n)}
}

// free hands mapped memory back to the system; a heap matrix is left to
// the collector.
func (m *matrix) free() {
	if m.unmap != nil {
		m.unmap()
		m.unmap = nil
	}
	m.words = nil
}
