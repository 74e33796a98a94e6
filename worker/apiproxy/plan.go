package apiproxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhelper/tokenhelper/worker/internal/respond"
)

// PlanHeader marks an answer of ServePlan: its body is a [Plan] for the
// entry module, never sent to the browser. RefusedHeader, on a request
// the entry module sends again, says that the upstream answered 401 to the
// last plan: the provider token is invalidated and a fresh plan given. The
// entry module strips both from every browser request.
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
	// Replay is how many bytes of the body may be kept for the retry
	// after a 401 (0: the body is sent once, no retry).
	Replay int64 `json:"replay"`
	// MaxBody caps the request body; beyond it the answer is TooLarge.
	MaxBody int64 `json:"max_body"`
	// TimeoutMS bounds the upstream call until its answer's headers.
	TimeoutMS int64 `json:"timeout_ms"`
	// Drop and DropPrefix name response headers never passed on
	// (lower-case); Default holds headers set when the upstream sent none.
	Drop       []string          `json:"drop"`
	DropPrefix []string          `json:"drop_prefix"`
	Default    map[string]string `json:"default"`
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

// hopByHop are the response headers Drop names (see droppedResponseHeader).
var hopByHop = []string{"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
	"te", "trailer", "transfer-encoding", "upgrade", "set-cookie", "set-cookie2", "content-length"}

// errorAnswer is the one error writer's answer, as an Answer.
func errorAnswer(status int, code, desc string) Answer {
	return Answer{Status: status, Body: respond.ErrorText(code, desc)}
}

// ServePlan checks the call as ServeHTTP does and answers a Plan instead
// of forwarding it: the request body is never read here (Content-Length
// is checked against MaxBody when the browser sent one), and an upstream
// 401 comes back as the same request with RefusedHeader, which drops the
// token for a renewed one.
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
		respond.Error(w, http.StatusRequestEntityTooLarge, "body_too_large", desc)
		return
	}
	ctx := r.Context()
	tok, err := p.Token(ctx)
	if err == nil && r.Header.Get(RefusedHeader) != "" && p.Invalidate != nil {
		p.Invalidate(ctx, tok)
		tok, err = p.Token(ctx)
	}
	if err != nil {
		p.fail(w, err)
		return
	}
	header := forwardHeaders(r)
	header["Authorization"] = tok.AuthorizationHeader()
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	plan := Plan{
		URL: target, Method: r.Method, Header: header, Replay: DefaultReplay, MaxBody: max,
		TimeoutMS: timeout.Milliseconds(), Drop: hopByHop, DropPrefix: []string{"access-control-"},
		Default:     map[string]string{"cache-control": "no-store"},
		Timeout:     errorAnswer(http.StatusGatewayTimeout, "upstream_timeout", errTimeout.Error()),
		Unavailable: errorAnswer(http.StatusBadGateway, "upstream_unavailable", errUnavailable.Error()),
		TooLarge:    errorAnswer(http.StatusRequestEntityTooLarge, "body_too_large", desc),
	}
	if r.Header.Get(RefusedHeader) != "" {
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
