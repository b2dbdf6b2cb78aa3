//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package db

import (
	"errors"
	"syscall"
	"unsafe"
)

// mapWords maps n zeroed words of private anonymous memory. The garbage
// collector neither counts nor scans it (argon2's blocks hold no
// pointers), and its pages are the kernel's until the first hash touches
// them.
func mapWords(n int) ([]uint64, func(), error) {
	if n <= 0 {
		return nil, nil, errors.New("no words to map")
	}
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n), func() { _ = syscall.Munmap(b) }, nil
}
