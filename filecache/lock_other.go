//go:build !unix

package filecache

import (
	"context"
	"io/fs"
)

// lock is the fallback where flock(2) is not available (Windows, js,
// wasip1, plan9): no cross-process lock. Renewals in one process are
// still one at a time (the Source's single flight); separate processes
// that need a token at the same moment may each renew. Tokens and the
// backoff are shared through the files all the same.
func lock(context.Context, string) (func(), error) { return func() {}, nil }

// owned cannot be checked portably here; the directory is created 0700.
func owned(fs.FileInfo) bool { return true }
