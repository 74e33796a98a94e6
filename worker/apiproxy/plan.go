package apiproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tokenhelper/tokenhelper"

	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// PlanHeader marks an answer of ServePlan: its body is a [Plan] (or a
// [Pass]) for the entry module, never sent to the browser. RefusedHeader,
// on a request the entry module sends again, says that the upstream
// answered 401 to the last plan and names the token it refused (the
// plan's TokenID): see ServePlan. The entry module strips both from every
// browser request.
const (
	PlanHeader    = "Tokenhelper-Plan"
	RefusedHeader = "Tokenhelper-Refused"
)

// DefaultReplay is how much of a request body the entry module keeps so
// that the one retry after an upstream 401 can send it again; a larger
// body is sent once.
const DefaultReplay = 1 << 20

// Plan is a forward decided in Go and performed by the Worker's entry
// module inside the request's own context, bodies streamed through
// untouched: policy in Go, bytes in JavaScript. The entry module makes no
// decision of its own: everything it needs is here.
type Plan struct {
	// URL, Method and Header are the upstream request: the allowlisted
	// headers and the provider token as Authorization.
	URL    string            `json:"url"`
	Method string            `json:"method"`
	Header map[string]string `json:"headers"`
	// TokenID names the provider token in Header (see TokenID): the
	// entry module sends it back in RefusedHeader after a 401.
	TokenID string `json:"token_id"`
	// Replay is how many bytes of the body may be kept for the retry
	// after a 401 (0: no retry). A request without a body, or with a
	// Content-Length up to Replay, is retried once; a longer or chunked
	// body is sent once and its 401 passed on, the token renewed for
	// later calls all the same.
	Replay int64 `json:"replay"`
	// MaxBody caps the request body; beyond it the answer is TooLarge.
	MaxBody int64 `json:"max_body"`
	// TimeoutMS bounds the upstream call until its answer's headers.
	TimeoutMS int64 `json:"timeout_ms"`
	// ResponseHeaders names the only upstream response headers passed on
	// (lower-case; see passedResponseHeaders), Vary beside the Worker's
	// own. CacheKeep and CacheNone cap Cache-Control as capCacheControl
	// does: "private" and the kept directives (CacheKeep, bare, and
	// max-age=<digits>), no-store if the upstream said no-store (or a
	// qualified no-cache, read as no-cache), CacheNone when it sent none.
	// Location is rebased or dropped as rebaseLocation does.
	ResponseHeaders []string `json:"response_headers"`
	CacheKeep       []string `json:"cache_keep"`
	CacheNone       string   `json:"cache_none"`
	Location        Rebase   `json:"location"`
	// The answers for the failures the entry module may meet, written by
	// Go's one error writer.
	Timeout     Answer `json:"timeout"`
	Unavailable Answer `json:"unavailable"`
	TooLarge    Answer `json:"too_large"`
}

// Answer is an error answer the entry module gives as it is.
type Answer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// Pass is ServePlan's answer to a request marked refused when the token
// the upstream refused is still the current one (the core's floor kept
// it, see tokenhelper.InvalidateFloor): no retry, the entry module passes
// the upstream's 401 on (its headers filtered by the plan it had).
type Pass struct {
	Pass bool `json:"pass"`
}

// TokenID is a name for tok that is no secret: the first 8 bytes of the
// SHA-256 of its access token, in hex. It tells tokens apart and cannot
// be turned back into the token. The last one is remembered, so that a
// cached token is hashed once.
func TokenID(tok *tokenhelper.Token) string {
	if m := lastID.Load(); m != nil && m.tok == tok {
		return m.id
	}
	sum := sha256.Sum256([]byte(tok.AccessToken))
	id := hex.EncodeToString(sum[:8])
	lastID.Store(&tokenIDMemo{tok, id})
	return id
}

type tokenIDMemo struct {
	tok *tokenhelper.Token
	id  string
}

var lastID atomic.Pointer[tokenIDMemo]

// errorAnswer is the one error writer's answer, as an Answer.
func errorAnswer(status int, code, desc string) Answer {
	return Answer{Status: status, Body: respond.ErrorText(code, desc)}
}

// ServePlan checks the call as ServeHTTP does and answers a Plan instead
// of forwarding it: the request body is never read here (Content-Length
// is checked against MaxBody when the browser sent one). An upstream 401
// comes back as the same request with RefusedHeader naming the refused
// token: if it is still the current one it is dropped (at most once per
// tokenhelper.InvalidateFloor, the core's rule) and the token taken
// again; a token other than the refused one gives a new plan (Replay 0:
// the one retry is this one), the refused one still (the floor held it)
// gives a [Pass]: the 401 is the answer, as in ServeHTTP.
func (p *Proxy) ServePlan(w http.ResponseWriter, r *http.Request) {
	target, ok := p.admit(w, r)
	if !ok {
		return
	}
	max := p.MaxBody
	if max == 0 {
		max = DefaultMaxRequestBody
	}
	desc := "request bodies are limited to " + strconv.FormatInt(max, 10) + " bytes"
	if n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64); err == nil && n > max {
		p.refused("body_too_large")
		respond.Error(w, http.StatusRequestEntityTooLarge, "body_too_large", desc)
		return
	}
	ctx := r.Context()
	tok, err := p.Token(ctx)
	refused := r.Header.Get(RefusedHeader)
	asked := err == nil && refused != "" && TokenID(tok) == refused &&
		p.nonceAsked(target, tok, "", []string{"DPoP error=\"" + tokenhelper.CodeUseDPoPNonce + "\""}, r.Header.Get(NonceHeader))
	if err == nil && refused != "" && TokenID(tok) == refused && !asked {
		var next *tokenhelper.Token
		if next, err = p.renewed(ctx, tok); err == nil && next == nil {
			w.Header().Set(PlanHeader, "1")
			respond.JSON(w, http.StatusOK, Pass{Pass: true})
			return
		}
		tok = next
	}
	if err != nil {
		p.fail(w, err)
		return
	}
	header := forwardHeaders(r)
	if err := p.authorize(ctx, header, r.Method, target, tok); err != nil {
		p.fail(w, err)
		return
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	plan := Plan{
		URL: target, Method: r.Method, Header: header, TokenID: TokenID(tok), Replay: DefaultReplay, MaxBody: max,
		TimeoutMS: timeout.Milliseconds(), ResponseHeaders: passedResponseHeaders, CacheKeep: keptCacheDirectives,
		CacheNone: capCacheControl("", false), Location: p.rebase(),
		Timeout:     errorAnswer(http.StatusGatewayTimeout, "upstream_timeout", errTimeout.Error()),
		Unavailable: errorAnswer(http.StatusBadGateway, "upstream_unavailable", errUnavailable.Error()),
		TooLarge:    errorAnswer(http.StatusRequestEntityTooLarge, "body_too_large", desc),
	}
	if refused != "" {
		plan.Replay = 0 // the one retry is this one
	}
	w.Header().Set(PlanHeader, "1")
	respond.JSON(w, http.StatusOK, plan)
}

// DefaultMaxRequestBody caps request bodies through /api/ in plan mode
// (MAX_REQUEST_BODY); answers have no cap, since they are never held.
const DefaultMaxRequestBody = 32 << 20

// forwardHeaders is the allowlisted request headers, joined.
func forwardHeaders(r *http.Request) map[string]string {
	header := map[string]string{}
	for _, name := range forwardedRequestHeaders {
		if v := r.Header.Values(name); len(v) > 0 {
			header[name] = strings.Join(v, ", ")
		}
	}
	return header
}
