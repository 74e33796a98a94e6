package devvars

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRead follows wrangler's dotenv: quotes, \n inside double quotes,
// multi-line double-quoted values (PEM keys), comments.
func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".dev.vars")
	os.WriteFile(path, []byte("# comment\nA=\"x\\ny\"\nexport B=\"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\"\nC=plain # note\nD='q\\n'\n\n"), 0o600)
	got, err := Read(path)
	want := map[string]string{"A": "x\ny", "B": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----", "C": "plain", "D": `q\n`}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	os.WriteFile(path, []byte("NOEQUALS\n"), 0o600)
	if _, err := Read(path); err == nil {
		t.Error("a line without = was accepted")
	}
}
