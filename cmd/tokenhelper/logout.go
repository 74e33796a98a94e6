package main

import (
	"fmt"

	"github.com/tokenhelper/tokenhelper/filecache"
)

// logout removes the token cache: every token, refresh token and kept
// failure of every profile.
func (c *cli) logout(args []string) int {
	fs := c.flagSet("logout")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageError("logout", "takes no arguments")
	}
	store, err := filecache.Open(c.cacheDir)
	if err != nil {
		fmt.Fprintln(c.stderr, "tokenhelper: "+err.Error())
		return exitOther
	}
	n, err := store.Clear()
	if err != nil {
		fmt.Fprintln(c.stderr, "tokenhelper: "+err.Error())
		return exitOther
	}
	fmt.Fprintf(c.stderr, "tokenhelper: removed %s (%d cached tokens)\n", store.Dir(), n)
	return exitOK
}

// cache is `cache clear` (logout) and `cache dir` (where the cache is).
func (c *cli) cache(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "clear":
			return c.logout(args[1:])
		case "dir":
			dir := c.cacheDir
			if dir == "" {
				var err error
				if dir, err = filecache.DefaultDir(); err != nil {
					fmt.Fprintln(c.stderr, "tokenhelper: "+err.Error())
					return exitOther
				}
			}
			_, err := fmt.Fprintln(c.stdout, dir)
			return exitFor(err)
		}
	}
	return c.usageError("cache", "clear or dir")
}
