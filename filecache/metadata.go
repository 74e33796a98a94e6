package filecache

import (
	"encoding/json"
	"os"
	"time"

	"github.com/tokenhelper/tokenhelper"
)

// metadataFile is an issuer's metadata as stored: the document as the
// core reads it, and when it stops being used.
type metadataFile struct {
	Until    time.Time       `json:"until"`
	Metadata json.RawMessage `json:"metadata"`
}

// Metadata returns the authorization server metadata of issuer stored by
// [Cache.PutMetadata] within tokenhelper.MetadataTTL, or nil. It is read
// back through tokenhelper.ParseMetadata, so that a file edited to name
// another issuer or an http endpoint is refused like a served one.
func (c *Cache) Metadata(issuer string) *tokenhelper.Metadata {
	b, err := os.ReadFile(c.path("metadata "+issuer, ".meta.json"))
	if err != nil {
		return nil
	}
	var f metadataFile
	if json.Unmarshal(b, &f) != nil || !c.now().Before(f.Until) || f.Until.After(c.now().Add(tokenhelper.MetadataTTL)) {
		return nil
	}
	m, err := tokenhelper.ParseMetadata(f.Metadata, issuer)
	if err != nil {
		return nil
	}
	return m
}

// PutMetadata stores m for tokenhelper.MetadataTTL, in a 0600 file like
// the tokens'.
func (c *Cache) PutMetadata(m *tokenhelper.Metadata) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b, err := json.Marshal(metadataFile{Until: c.now().Add(tokenhelper.MetadataTTL), Metadata: doc})
	if err != nil {
		return err
	}
	return c.writeFile(c.path("metadata "+m.Issuer, ".meta.json"), b)
}
