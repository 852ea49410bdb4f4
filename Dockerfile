# erasured's image: a static binary on a distroless base, as a user without privileges,
# with its SQLite file on the volume /data (set DATABASE_URL to use PostgreSQL instead).
#
#   docker build -t erasured .
#   docker run -d --name erasured -p 8080:8080 -v erasured-data:/data erasured
#   docker cp erasured:/data/first-key .    # the first API key, made on the first start
#
# cmd/erasured's TestDockerfile builds the binary with the go build line below, word for
# word, and runs it as ENTRYPOINT, CMD and ENV say; keep those simple enough for it to
# read: one ENV per line, JSON arrays for ENTRYPOINT, CMD and HEALTHCHECK.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags="-s -w" -o /out/erasured ./cmd/erasured
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/erasured /usr/local/bin/erasured
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATABASE_URL=sqlite:/data/erasured.db
ENV ERASURED_FIRST_KEY_FILE=/data/first-key
ENV ERASURED_ADDR=:8080
VOLUME /data
EXPOSE 8080
# distroless's nonroot, by number, so that Kubernetes's runAsNonRoot can check it.
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s CMD ["/usr/local/bin/erasured", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/erasured"]
CMD ["serve"]
