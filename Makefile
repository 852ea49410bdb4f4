# `make test` is the whole check: formatting, vet, staticcheck, and every test with the
# race detector on both stores. PostgreSQL must be reachable at $ERASURED_TEST_POSTGRES
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable): its tests fail,
# never skip, without it. The JavaScript client's round trip (cmd/erasured's
# TestJavaScriptClient) needs node and what clients/js/package-lock.json pins, which
# `npm ci` installs from the npm registry.
GO ?= go
NPM ?= npm

.PHONY: test lint run clients

test: lint clients
	$(GO) test -race -count=1 ./...

clients:
	$(NPM) ci --prefix clients/js --silent --no-audit --no-fund

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=.ci/tools/go.mod staticcheck ./...

run:
	$(GO) run ./cmd/erasured
