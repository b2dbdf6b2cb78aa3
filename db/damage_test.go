package db

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// mustDatabaseFile writes a real database of several hundred pages and
// returns its path, closed.
func mustDatabaseFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "invited.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		for i := 0; i < 2000; i++ {
			if err := b.Put(itob(uint64(i+1)), bytes.Repeat([]byte{'x'}, 900)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesDamagedFile damages a real database file in the ways a
// disk, a copy or a person does, and opens it, for writing and read-only:
// each is refused with an error that names the file and says to restore
// a backup, never a panic, and the file is left as it was.
func TestOpenRefusesDamagedFile(t *testing.T) {
	garbage := make([]byte, 64<<10)
	if _, err := rand.Read(garbage); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"cut in half", func(t *testing.T, path string) { truncateTo(t, path, func(n int64) int64 { return n / 2 }) }},
		{"cut to three pages", func(t *testing.T, path string) { truncateTo(t, path, func(int64) int64 { return 3 * 4096 }) }},
		{"cut mid-page", func(t *testing.T, path string) { truncateTo(t, path, func(n int64) int64 { return n/2 + 123 }) }},
		{"empty", func(t *testing.T, path string) { truncateTo(t, path, func(int64) int64 { return 0 }) }},
		{"random bytes", func(t *testing.T, path string) { writeFile(t, path, garbage) }},
		{"text", func(t *testing.T, path string) { writeFile(t, path, []byte("not a database\n")) }},
		{"pages overwritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for off := int64(2 * 4096); off < 64*4096; off += int64(len(garbage)) {
				if _, err := f.WriteAt(garbage, off); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"meta pages zeroed", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 2*4096), 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/readonly=%v", c.name, readOnly), func(t *testing.T) {
				path := mustDatabaseFile(t)
				c.damage(t, path)
				before, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				s, err := Open(path, Options{ReadOnly: readOnly})
				if err == nil {
					s.Close()
					t.Fatalf("a damaged file (%s) opened", c.name)
				}
				msg := err.Error()
				for _, want := range []string{path, "damaged", "backup"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not say %q", msg, want)
					}
				}
				if strings.Contains(msg, "goroutine") || strings.Contains(msg, "0x") || len(msg) > 300 {
					t.Errorf("error %q shows internals", msg)
				}
				after, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(before, after) {
					t.Errorf("opening changed the damaged file (%d bytes before, %d after, %v)", len(before), len(after), err)
				}
			})
		}
	}
}

// TestOpenCreatesOnlyMissingFile: a path with no file gets a new database;
// a good file opens again with its data.
func TestOpenCreatesOnlyMissingFile(t *testing.T) {
	path := mustDatabaseFile(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("a good file: %v", err)
	}
	var n int
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bucketEvents).Stats().KeyN; return nil })
	s.Close()
	if n != 2000 {
		t.Errorf("the good file holds %d records, want 2000", n)
	}
	fresh := filepath.Join(t.TempDir(), "sub", "new.db")
	s, err = Open(fresh, Options{})
	if err != nil {
		t.Fatalf("a missing file: %v", err)
	}
	s.Close()
}

func truncateTo(t *testing.T, path string, size func(int64) int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size(fi.Size())); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
