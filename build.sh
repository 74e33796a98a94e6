#!/usr/bin/env bash
# build.sh: build, run, test and benchmark tokenhelper.
#
#   ./build.sh [build]   every artifact into dist/ (build worker: the worker only;
#                        build hooks: the e2e tests' testhooks worker bundle)
#   ./build.sh dev       demo provider + worker (workerd) + page, on loopback
#   ./build.sh test      install what is missing, then every test suite
#   ./build.sh bench     benchmarks, printed side by side with their peers
#
# Environment: FUZZTIME (default 10s per fuzz target), DEV_HOST (127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
DIST=$ROOT/dist
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export WRANGLER_SEND_METRICS=false NO_COLOR=1 FORCE_COLOR=0
WASM_PATH="$(go env GOROOT)/lib/wasm"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ---- set-up: everything a fresh machine lacks ------------------------------

# The Go modules: the library at the root, the end-to-end tests and the
# benchmarks in modules of their own (so that the library's module graph
# holds only golang-jwt and syumai/workers).
MODULES=(. e2e bench)

ensure_go() {
	command -v go >/dev/null || die "Go is required (https://go.dev/dl); this machine has none"
	local m
	for m in "${MODULES[@]}"; do (cd "$m" && go mod download); done
}

# ensure_npm installs the pinned npm packages of each folder with a lockfile
# (e2e/bundlers: Vite 8, webpack 5, esbuild; e2e/bundlers/vite7: Vite 7).
ensure_npm() {
	command -v npm >/dev/null || { apt_install nodejs npm; }
	local d
	for d in web worker e2e/bundlers e2e/bundlers/vite7 e2e/standards; do
		[ -f "$d/package-lock.json" ] || continue
		if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
			log "npm ci in $d"
			(cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
		fi
	done
}

apt_install() {
	log "apt-get install $*"
	if [ "$(id -u)" != 0 ]; then die "need root to apt-get install $*"; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {
	if [ -z "${CHROMIUM:-}" ]; then
		CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
	fi
	if [ -z "$CHROMIUM" ]; then
		apt_install chromium fonts-dejavu-core
		CHROMIUM=$(command -v chromium)
	fi
	export CHROMIUM
}

# ensure_tomcat installs what the gateway attack suite's upstream needs (a
# real Tomcat 10 run as `java Main.java`, e2e/harness/tomcat): a JDK and
# Debian's embedded Tomcat. On this machine: about 10 s to install
# (apt-get update included), 1.4-4.4 s from launch to listening.
ensure_tomcat() {
	if ! command -v java >/dev/null || [ ! -f /usr/share/java/tomcat10-embed-core.jar ]; then
		apt_install default-jdk-headless libtomcat10-embed-java
	fi
}

ensure_compressors() {
	command -v brotli >/dev/null || apt_install brotli
}

# ---- build -----------------------------------------------------------------

# notices are the licenses of what the npm package ships besides our code:
# the Go runtime and standard library in tokenhelper.wasm and Go's
# wasm_exec.js, and golang-jwt (the module's only dependency).
notices() {
	printf 'tokenhelper.wasm holds the Go runtime and standard library and github.com/golang-jwt/jwt/v5;\nwasm_exec.js is from Go (%s).\n\n== Go: https://go.dev/LICENSE\n\n' "$(go env GOVERSION)"
	cat "$(go env GOROOT)/LICENSE"
	printf '\n== github.com/golang-jwt/jwt/v5 (%s)\n\n' "$(go list -m -f '{{.Version}}' github.com/golang-jwt/jwt/v5)"
	cat "$(go list -m -f '{{.Dir}}' github.com/golang-jwt/jwt/v5)/LICENSE"
}

build_browser() {
	# dist/: the importable module (tokenhelper.mjs with tabs.mjs and crypto.mjs, .d.ts, package.json,
	# wasm_exec.js, tokenhelper.wasm); dist/web/: the static page with its
	# own copy of the module; dist/browser-test/: pages for the Chromium
	# tests and benchmarks (with the jwt-decode npm package to compare).
	log "browser: wasm/ and web/ into dist/"
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$DIST/tokenhelper.wasm" ./wasm
	cp "$WASM_PATH/wasm_exec.js" web/src/tokenhelper.mjs web/src/tabs.mjs web/src/crypto.mjs web/src/tokenhelper.d.ts web/src/package.json web/src/README.md LICENSE "$DIST/"
	notices >"$DIST/THIRD_PARTY_NOTICES"
	rm -rf "$DIST/web" "$DIST/browser-test"
	mkdir -p "$DIST/web" "$DIST/browser-test"
	cp web/page/* "$DIST/web/"
	cp "$DIST/tokenhelper.mjs" "$DIST/tabs.mjs" "$DIST/crypto.mjs" "$DIST/wasm_exec.js" "$DIST/tokenhelper.wasm" "$DIST/web/"
	cp e2e/browser/compat.html bench/browser/bench.html web/test/vectors.mjs "$DIST/browser-test/"
	if [ -f web/node_modules/jwt-decode/build/esm/index.js ]; then
		cp web/node_modules/jwt-decode/build/esm/index.js "$DIST/browser-test/jwt-decode.mjs"
	fi
	# Precompressed copies for servers that send them (internal/devserver).
	gzip -9 -k -f "$DIST/web/tokenhelper.wasm"
	brotli_file "$DIST/web/tokenhelper.wasm"
}

# brotli_file writes FILE.br, brotli at quality 11, with Node's zlib (Node is
# there for the web/ and worker/ tooling; no brotli command needed). The
# window is 4 MiB (LGWIN 22), not the largest, 16 MiB: for tokenhelper.wasm
# it compresses as well (900,239 vs 900,646 bytes) and decodes faster
# (Node's zlib, median of 9, two runs on a loaded machine: 16-26 vs
# 39-72 ms), since the decoder allocates and walks a smaller ring buffer.
brotli_file() {
	node -e '
		const fs = require("fs"), zlib = require("zlib"), f = process.argv[1], b = fs.readFileSync(f), c = zlib.constants;
		fs.writeFileSync(f + ".br.tmp", zlib.brotliCompressSync(b, { params: {
			[c.BROTLI_PARAM_QUALITY]: 11, [c.BROTLI_PARAM_LGWIN]: 22, [c.BROTLI_PARAM_SIZE_HINT]: b.length } }));
		fs.renameSync(f + ".br.tmp", f + ".br");' "$1"
}

# build_worker writes worker/build (what wrangler.jsonc deploys; its
# build.command runs `./build.sh build worker`, so that `wrangler deploy`
# never ships a stale bundle) and dist/worker, the same files. With
# hooks, it builds dist/worker-testhooks instead: the same program with
# -tags testhooks (the /__test/ endpoints of the end-to-end tests and the
# memory benchmark), never deployed.
#
# The bundle is made in a fresh directory and moved into place file by
# file with rename, so that a `wrangler dev` serving worker/build (and
# running this as its build.command on every watched change) only ever
# sees a whole bundle. syumai's generated worker.mjs starts a Go instance
# per request; ours (worker/entry/worker.mjs) keeps one per isolate.
build_worker() {
	local hooks=${1:-} tmp f tags=() out
	tmp=$(mktemp -d "$ROOT/worker/.build-XXXXXX")
	if [ "$hooks" = hooks ]; then
		tags=(-tags testhooks)
		out=$DIST/worker-testhooks
		log "worker (testhooks build, for the tests): -> $out"
	else
		log "worker: syumai/workers glue + our entry module + Go WebAssembly -> worker/build, dist/worker"
	fi
	(cd worker && go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$tmp" >/dev/null)
	cp worker/entry/worker.mjs worker/entry/forward.mjs worker/entry/calls.mjs "$tmp/"
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' "${tags[@]}" -o "$tmp/app.wasm" ./worker/cmd/worker
	if [ "$hooks" = hooks ]; then
		rm -rf "$out"
		mkdir -p "$out"
		for f in worker.mjs forward.mjs calls.mjs runtime.mjs wasm_exec.js app.wasm; do mv "$tmp/$f" "$out/$f"; done
		rm -rf "$tmp"
		return
	fi
	mkdir -p worker/build "$DIST/worker"
	for f in worker.mjs forward.mjs calls.mjs runtime.mjs wasm_exec.js app.wasm; do
		cp "$tmp/$f" "$DIST/worker/$f"
		mv -f "$tmp/$f" "worker/build/$f" # rename(2): atomic for a reader
	done
	rm -rf "$tmp"
	# The size against the free plan's limit (gzip -9 of 8 MB: about 2 s); not under ./build.sh dev.
	[ -n "${DEV_BUILD:-}" ] || printf 'worker bundle: app.wasm %s bytes raw, %s gzip\n' "$(wc -c <worker/build/app.wasm)" "$(gzip -9c worker/build/app.wasm | wc -c)" >&2
}

cmd_build() {
	ensure_go
	mkdir -p "$DIST"
	case "${1:-}" in
	worker) build_worker; return ;;
	hooks) build_worker hooks; return ;; # dist/worker-testhooks, for the e2e tests
	esac
	ensure_npm
	build_browser
	build_worker
	log "built into dist/"
	ls -la "$DIST" >&2
}

# ---- test ------------------------------------------------------------------

PASSED=0
FAILED=0
FAILURES=()

# suite NAME CMD...: run one suite, count it, keep going on failure.
suite() {
	local name=$1
	shift
	log "$name"
	if "$@"; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("$name")
	fi
}

# in_modules CMD...: run CMD in each Go module, failing if any fails.
in_modules() {
	local m rc=0
	for m in "${MODULES[@]}"; do (cd "$m" && "$@") || rc=1; done
	return $rc
}

vet_all() {
	in_modules go vet ./... && GOOS=js GOARCH=wasm go vet ./... && GOOS=windows go vet ./... && GOOS=js GOARCH=wasm go vet -tags testhooks ./worker/...
}

gofmt_clean() {
	local bad
	bad=$(gofmt -l .)
	[ -z "$bad" ] || { echo "gofmt needed: $bad"; return 1; }
}

# library_deps fails when the library's module graph holds test or
# benchmark tooling (chromedp, cdproto, x/oauth2): those belong to e2e/
# and bench/.
library_deps() {
	local bad
	bad=$(go list -m all | grep -E 'chromedp|cdproto|golang.org/x/oauth2' || true)
	[ -z "$bad" ] || { echo "the library's go.mod pulls in: $bad"; return 1; }
	go list -m all | sed 's/^/  /'
}

# go_tests runs every Go test of every module (the end-to-end tests in
# workerd and Chromium are in e2e/) verbosely into a log, then searches the log
# for the secrets the tests use: none may ever be printed.
GO_TEST_LOG=$DIST/test-artifacts/go-test.log
go_tests() {
	mkdir -p "$(dirname "$GO_TEST_LOG")"
	local rc=0
	# -timeout: e2e/worker alone runs several minutes (workerd, wrangler dev,
	# Tomcat); Go's default of 10 minutes per package is too tight on a busy
	# 2-core machine.
	in_modules go test -race -count=1 -timeout 30m -v ./... >"$GO_TEST_LOG" 2>&1 || rc=$?
	grep -E '^(--- FAIL|FAIL|ok|panic:)' "$GO_TEST_LOG" || true
	[ "$rc" -eq 0 ] || { grep -B2 -A20 -E '^--- FAIL' "$GO_TEST_LOG" | head -200; return "$rc"; }
	no_secret_in "$GO_TEST_LOG"
}

# no_secret_in FILE fails when FILE holds a secret the tests use.
no_secret_in() {
	local s found=0
	for s in demo-secret-do-not-use-in-production demo-password 's3cr3t/with+chars' 'pa ss'"'"'word'; do
		if grep -qF -- "$s" "$1"; then
			echo "SECRET LEAK: $1 contains a test secret:"
			grep -nF -- "$s" "$1" | head -5
			found=1
		fi
	done
	[ "$found" -eq 0 ] && echo "no test secret in $(wc -l <"$1") lines of test output"
}

# wasm_tests runs the js && wasm adapters' unit tests under Node, where
# Go's own fetch transport is off: the real fetch paths are tested in
# Chromium and workerd.
wasm_tests() {
	PATH="$WASM_PATH:$PATH" GOOS=js GOARCH=wasm go test -count=1 ./wasm/... ./internal/jsbridge/...
}

# fuzz_all runs every Fuzz target of the library for FUZZTIME each. A run
# that fails with "context deadline exceeded" and writes no failing input
# to testdata/fuzz is Go 1.26's fuzz coordinator racing its own -fuzztime
# deadline (golang/go#75804, fixed in Go 1.27), not a finding: it is
# reported and not counted; any other failure, or a written input, is.
fuzz_all() {
	local ft=${FUZZTIME:-10s} pkg dir target ok=0 log before after
	log=$(mktemp)
	for pkg in $(go list ./...); do
		dir=$(go list -f '{{.Dir}}' "$pkg")
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			echo "fuzz $pkg $target for $ft"
			before=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
			if ! go test -run='^$' -fuzz="^$target\$" -fuzztime="$ft" "$pkg" >"$log" 2>&1; then
				after=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
				if [ "$after" = "$before" ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
					echo "  (ignored: Go's fuzz coordinator hit its own deadline, golang/go#75804; no failing input)"
				else
					cat "$log"
					ok=1
				fi
			fi
			tail -1 "$log"
		done
	done
	rm -f "$log"
	return $ok
}

test_browser() {
	# The Chromium end-to-end tests run in the go test -race suite
	# (e2e/browser); here: the JS module under Node (decodeJWT vs
	# jwt-decode, the API against a local endpoint, an esbuild bundle).
	suite "JS module under Node (node --test web/test)" bash -c 'cd web && node --test test/*.test.mjs'
}
test_worker() {
	# The handler tests and the workerd end-to-end tests (e2e/worker) run
	# in go_tests (TOKENHELPER_E2E=1 makes missing prerequisites a failure). Here:
	# wrangler validates wrangler.jsonc and bundles the worker offline, and
	# the upload must fit the Workers free plan (3 MiB gzip).
	worker_dry_run() {
		local out kib
		out=$(cd worker && CI=true WRANGLER_SEND_METRICS=false timeout 120 node_modules/.bin/wrangler deploy --dry-run \
			--outdir "$(mktemp -d)" 2>&1) || { echo "$out"; return 1; }
		echo "$out" | grep 'Total Upload'
		kib=$(echo "$out" | sed -n 's/.*gzip: \([0-9]*\).*/\1/p')
		[ -n "$kib" ] && [ "$kib" -lt 3072 ] || { echo "gzip upload ${kib:-?} KiB: over the 3072 KiB free-plan limit"; return 1; }
	}
	suite "worker: wrangler deploy --dry-run, upload under 3 MiB gzip" worker_dry_run
	# The deployed bundle carries no test endpoint (they are behind -tags
	# testhooks); the testhooks build does, or this check proves nothing.
	no_test_hooks() {
		if grep -aq '/__test/' worker/build/app.wasm; then echo "worker/build/app.wasm contains /__test/ endpoints"; return 1; fi
		grep -aq '/__test/' "$DIST/worker-testhooks/app.wasm" || { echo "the testhooks build lacks /__test/: the check is broken"; return 1; }
		echo "no /__test/ in the deployed app.wasm"
	}
	suite "worker: no test hook in the deployed bundle" no_test_hooks
	# The entry module (one Go instance per isolate) is exercised by the
	# e2e tests in go_tests (e2e/worker); here only its syntax.
	suite "worker: entry module parses (node --check)" bash -c 'for f in worker/entry/*.mjs; do node --check "$f" || exit 1; done'
}

cmd_test() {
	ensure_go
	ensure_npm
	ensure_chromium
	ensure_tomcat
	cmd_build
	build_worker hooks
	export TOKENHELPER_E2E=1 # end-to-end tests fail, not skip, when a part is missing
	suite "gofmt" gofmt_clean
	suite "go.mod: the library requires only golang-jwt and syumai/workers" library_deps
	suite "go vet (native and js/wasm)" vet_all
	suite "go test -race ./... (core, demo provider, worker handler, e2e in workerd and Chromium)" go_tests
	suite "wasm tests under Node" wasm_tests
	test_browser
	test_worker
	suite "fuzz (${FUZZTIME:-10s} per target)" fuzz_all
	echo
	if [ "$FAILED" -gt 0 ]; then
		echo "failed suites: ${FAILURES[*]}"
	fi
	echo "suites: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# ---- bench -----------------------------------------------------------------

bench_browser() {
	log "browser: load() time and decodeJWT vs jwt-decode in Chromium ($CHROMIUM)"
	TOKENHELPER_BENCH=1 TOKENHELPER_E2E=1 BENCH_OUT=${BENCH_OUT:-} go -C bench test -count=1 -v -run '^TestBrowserBench$' ./browser/ | grep -E '^(bench:|--- FAIL|FAIL|ok)' | sed 's/^bench: //'
}
bench_worker() {
	# One run, side by side: our worker with one Go instance per isolate,
	# the same bundle with syumai's instance per request, and the plain
	# JavaScript worker (bench/worker/baseline.mjs); start-up, cached
	# POST /token at 1 and 8 clients, workerd memory over
	# BENCH_MEMORY_REQUESTS, the bundle's sizes and what each dependency
	# adds. Table on stdout, JSON in dist/bench/worker.json for the
	# combined report. BENCH_WASM_OPT=1 also measures wasm-opt -Oz (about
	# a minute; it saved under 1% gzip and nothing after brotli, so the
	# build does not use it).
	log "worker: long-lived Go instance vs per-request instance vs plain JavaScript, in workerd (${BENCH_REQUESTS:-500} requests per row)"
	local opt=()
	[ "${BENCH_WASM_OPT:-0}" = 1 ] && opt+=(-wasm-opt)
	bench_cmd workerbench -n "${BENCH_REQUESTS:-500}" -clients 1,8 \
		-memory "${BENCH_MEMORY_REQUESTS:-10000}" -json "$DIST/bench/worker.json" "${opt[@]}"
	# The cached /token rows again in bare workerd (no wrangler proxy in
	# front of any of the three; memory and sizes are measured above).
	bench_cmd workerbench -runtime workerd -n "${BENCH_REQUESTS:-500}" -clients 1,8 -memory 0 -sizes=false -json "$DIST/bench/worker-workerd.json"
	# Start-up (issue 20: first answer after ready <= 30 ms): the median of
	# 15 fresh bare-workerd starts, then the same bundle with the entry
	# module's global-scope warm-up that startbench -warm adds (a proposal
	# for worker/entry/worker.mjs, measured on a patched copy).
	log "start-up: first answer of fresh bare-workerd isolates, as built and with the proposed warm-up"
	bench_cmd startbench -n 15
	bench_cmd startbench -n 15 -warm -baseline ''
	# Mode mint: /api through our worker vs a plain JavaScript proxy doing
	# the same job (bench/worker/proxy.mjs), and a 20 MiB answer through both.
	bench_cmd mintbench -n "${BENCH_REQUESTS:-500}" -clients 1,8 -json "$DIST/bench/mint.json"
	# The same in bare workerd (wrangler's workerd binary with our own
	# config), where wrangler dev's proxy does not add its milliseconds to
	# both sides.
	bench_cmd mintbench -runtime workerd -n "${BENCH_REQUESTS:-500}" -clients 1,8 -json "$DIST/bench/mint-workerd.json"
	# The TOKEN_HOLDER object across 4 isolates (bare workerd): provider
	# requests for a burst and for a renewal, with and without it.
	bench_cmd holderbench -n "${BENCH_REQUESTS:-500}" -json "$DIST/bench/holder.json"
	# The fault soak (e2e/soak; a short one runs in the tests): a provider
	# healthy, refusing connections, answering 503, 429 and slowly, while 8
	# clients ask the core's Source and the worker for 60 s tokens.
	log "fault soak: core Source and worker in workerd, about 3 minutes"
	bench_cmd soak -json "$DIST/bench/soak.json"
}

# bench_cmd NAME ARGS...: build bench/cmd/NAME and run it from the
# repository root, where its default paths point.
bench_cmd() {
	local name=$1
	shift
	(cd bench && go build -o "$DIST/bin/$name" "./cmd/$name") && "$DIST/bin/$name" "$@"
}

cmd_bench() {
	ensure_go
	ensure_npm
	ensure_chromium
	ensure_compressors
	cmd_build
	build_worker hooks
	BENCH_OUT=$DIST/bench
	export BENCH_OUT
	rm -rf "$BENCH_OUT"
	mkdir -p "$BENCH_OUT"
	log "core: cached token (tokenhelper vs golang.org/x/oauth2 ReuseTokenSource), JWT inspection, request building"
	go -C bench test -run='^$' -bench=. -benchmem -count=5 ./core/ | tee "$BENCH_OUT/core.txt" | grep -E '^(Benchmark|ok|PASS)'
	bench_sizes
	log "wasm sizes (gzip -9, brotli -q 11; goal for the browser <= 1.5 MB gzip): $(cat "$BENCH_OUT/sizes.json")"
	bench_browser
	bench_worker
	log "one report: ratios against the named peers (dist/bench/report.md, report.json)"
	bench_cmd benchreport -dir "$BENCH_OUT"
}

# bench_sizes writes the raw, gzip and brotli sizes of each .wasm.
bench_sizes() {
	local out="$BENCH_OUT/sizes.json" sep="" name f
	printf '{' >"$out"
	for name in "browser wasm:$DIST/tokenhelper.wasm" "worker wasm:$DIST/worker/app.wasm"; do
		f=${name#*:}
		[ -f "$f" ] || continue
		printf '%s"%s":{"raw":%d,"gzip":%d,"brotli":%d}' "$sep" "${name%%:*}" \
			"$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)" "$(brotli -q 11 -c "$f" | wc -c)" >>"$out"
		sep=,
	done
	printf '}\n' >>"$out"
}

# ---- dev -------------------------------------------------------------------

# cmd_dev runs the local stack (internal/cmd/dev): the demo provider, the
# worker in workerd and the page server, until Ctrl-C. It is exec'd so
# that Ctrl-C reaches it (go run would not pass the signal on); its flags
# take their defaults from DEV_HOST, DEMO_PORT, DEV_WORKER_PORT,
# DEV_WORKER_INSPECTOR_PORT and DEV_PAGE_PORT.
cmd_dev() {
	ensure_go
	ensure_npm
	# One build of each part, side by side (the supervisor's wrangler dev
	# serves this bundle and runs no build of its own).
	mkdir -p "$DIST"
	build_browser &
	local browser=$!
	DEV_BUILD=1 build_worker
	wait "$browser"
	go build -o "$DIST/dev" ./internal/cmd/dev
	exec "$DIST/dev" -dist "$DIST"
}

case "${1:-build}" in
build) cmd_build "${2:-}" ;;
dev) cmd_dev ;;
test) cmd_test ;;
bench) cmd_bench ;;
*) die "usage: ./build.sh [build [worker|hooks]|dev|test|bench]" ;;
esac
