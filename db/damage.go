package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// damaged is the error for a database file that cannot be used as it is:
// it names the file and says what to do, never with a panic's internals.
func damaged(path, why string) error {
	return Errorf(EINVALID, "the database %s is damaged (%s): restore it from a backup (see `invited backup`), or move it away to start a new database", path, why)
}

// checkBeforeOpen refuses an existing file that is empty: bbolt would
// silently make a new database of it, and lose what the file should have
// held. Only a file that does not exist is created new.
func checkBeforeOpen(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Errorf(EINVALID, "the database %s is not a regular file: point storage.data_dir at a folder that holds invited.db", path)
	}
	if fi.Size() == 0 {
		return damaged(path, "the file is empty")
	}
	// A file cut short is found before bbolt maps it, since bbolt would
	// fault on the missing pages while opening, with the file still locked.
	if need, ok := pagesEnd(path); ok && need > fi.Size() {
		return damaged(path, fmt.Sprintf("it is %d bytes long, but its pages reach byte %d: it was cut short", fi.Size(), need))
	}
	return nil
}

// pagesEnd reads the file's meta pages as bbolt lays them out (a 16-byte
// page header, then magic, version, page size, flags, root bucket,
// freelist, high-water page id, txid and an FNV-64a checksum, all little
// endian) and returns where the pages of the newest valid one end. ok is
// false when neither is valid; bbolt itself then refuses the file.
func pagesEnd(path string) (end int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var bestTx uint64
	pageSize := int64(0)
	for i := int64(0); i < 2; i++ {
		buf := make([]byte, 80)
		off := i * pageSize
		if i == 1 && pageSize == 0 {
			off = 4096 // meta 0 is broken: try where meta 1 usually is
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			continue
		}
		m := buf[16:]
		magic, version := binary.LittleEndian.Uint32(m[0:]), binary.LittleEndian.Uint32(m[4:])
		h := fnv.New64a()
		h.Write(m[:56])
		if magic != 0xED0CDAED || version != 2 || h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
			continue
		}
		size := int64(binary.LittleEndian.Uint32(m[8:]))
		hwm, txid := binary.LittleEndian.Uint64(m[40:]), binary.LittleEndian.Uint64(m[48:])
		if i == 0 {
			pageSize = size
		}
		if !ok || txid > bestTx {
			end, bestTx, ok = int64(hwm)*size, txid, true
		}
	}
	return end, ok
}

// guardDamage runs f, which reads the file, and turns a panic or a memory
// fault from bbolt on a corrupt page into the damaged error. bbolt reads
// through a memory map, so a page past the end of a truncated file is a
// fault (SIGBUS) rather than an error; SetPanicOnFault makes it a panic
// that can be recovered, on this goroutine only.
func guardDamage(path string, f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = damaged(path, "its pages cannot be read")
		}
	}()
	return f()
}

// openBolt opens the file with bbolt, refusing a damaged one: an empty
// file, invalid meta pages, pages that reach past the end of the file (it
// was cut short), or a panic while opening.
func openBolt(path string, opts *bolt.Options) (*bolt.DB, error) {
	if err := checkBeforeOpen(path); err != nil {
		return nil, err
	}
	var bdb *bolt.DB
	err := guardDamage(path, func() error {
		var err error
		bdb, err = bolt.Open(path, 0o600, opts)
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return ErrLocked
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
			return damaged(path, "it is not an invited database, or its header is broken")
		case err != nil:
			return fmt.Errorf("open %s: %w", path, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		return bdb.View(func(tx *bolt.Tx) error {
			if need := tx.Size(); need > fi.Size() {
				return damaged(path, fmt.Sprintf("it is %d bytes long, but its pages reach byte %d: it was cut short", fi.Size(), need))
			}
			if fi.Size() > maxReadThroughBytes {
				// Reading the top-level buckets touches the root pages.
				return tx.ForEach(func([]byte, *bolt.Bucket) error { return nil })
			}
			if err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return readThrough(b, 0) }); err != nil {
				return damaged(path, err.Error())
			}
			return nil
		})
	})
	if err != nil && bdb != nil {
		_ = closeQuietly(bdb)
		bdb = nil
	}
	return bdb, err
}

// maxReadThroughBytes is the largest file read through completely at
// open. A team's database is a few megabytes, read in milliseconds; a
// damaged page found now is a clear refusal instead of a crash later, in
// the middle of a request. Larger files get only the checks above.
const maxReadThroughBytes = 64 << 20

// readThrough reads every key and value of b and of the buckets inside it,
// so that every page of the tree is touched once (under guardDamage).
func readThrough(b *bolt.Bucket, depth int) error {
	if depth > 8 {
		return errors.New("buckets nested too deep")
	}
	c := b.Cursor()
	var sink byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if inner := b.Bucket(k); inner != nil {
				if err := readThrough(inner, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		// The last byte of a value lies on its last overflow page.
		if len(v) > 0 {
			sink ^= v[len(v)-1]
		}
	}
	_ = sink
	return nil
}

// closeQuietly closes a database being given up on; closing a damaged one
// may panic too.
func closeQuietly(bdb *bolt.DB) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("close panicked")
		}
	}()
	return bdb.Close()
}
