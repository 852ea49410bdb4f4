# `make test` is the whole check: formatting, vet, staticcheck, and every test with the
# race detector on both stores. PostgreSQL is $ERASURED_TEST_POSTGRES, else the server on
# 127.0.0.1:5432, else a throwaway cluster that each test process starts with the
# machine's initdb and pg_ctl (Debian's package postgresql) and removes when it ends; with
# none of these the PostgreSQL tests fail, never skip. The JavaScript client's round trip
# (cmd/erasured's TestJavaScriptClient) needs node and what clients/js/package-lock.json
# pins, which `npm ci` installs from the npm registry.
#
# -timeout: on a machine with empty caches, cmd/erasured's tests first build the server
# as the Dockerfile does, a build of its own (-trimpath) that takes minutes on two cores.
GO ?= go
NPM ?= npm

.PHONY: test lint run clients

test: lint clients
	$(GO) test -race -count=1 -timeout 30m ./...

clients:
	$(NPM) ci --prefix clients/js --silent --no-audit --no-fund

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=.ci/tools/go.mod staticcheck ./...
	# bench/reference is a module of its own (it keeps pgx out of erasured's go.mod).
	cd bench/reference && $(GO) vet ./...

run:
	$(GO) run ./cmd/erasured
