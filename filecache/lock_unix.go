//go:build unix

package filecache

import (
	"context"
	"io/fs"
	"os"
	"syscall"
)

// lock takes the exclusive flock(2) of the file at path (created 0600),
// waiting for another holder until ctx ends, and returns its release.
// A process that dies holding it releases it with its descriptors.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	done := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(fd, syscall.LOCK_EX)
			if err != syscall.EINTR {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, err
		}
		return func() { f.Close() }, nil // closing the only descriptor releases the lock
	case <-ctx.Done():
		go func() { <-done; f.Close() }() // release it as soon as it is granted
		return nil, ctx.Err()
	}
}

// owned reports whether this process's user owns the file.
func owned(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Getuid()
}
