# kxy-id-server in a container: build with the Rust toolchain, run on Debian slim as a
# non-root user with the state in a volume.
#   docker build -t kxy-id-server .
#   docker run -p 5801:5801 -v kxy-id-data:/var/lib/kxy-id kxy-id-server
# Settings are the KXY_* environment variables (`docker run kxy-id-server --help`).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The UI and the OpenAPI document are embedded in the binary; nothing else is copied over.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p kxy-id-server \
    && install -D -m 0755 target/release/kxy-id-server /out/kxy-id-server

FROM debian:bookworm-slim
# ca-certificates: TLS to Redis and business databases; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kxy-id \
    && useradd --system --uid 10001 --gid kxy-id --home-dir /var/lib/kxy-id --shell /usr/sbin/nologin kxy-id \
    && install -d -m 0700 -o kxy-id -g kxy-id /var/lib/kxy-id
COPY --from=build /out/kxy-id-server /usr/bin/kxy-id-server
USER kxy-id:kxy-id
WORKDIR /var/lib/kxy-id
ENV KXY_LISTEN=0.0.0.0:5801 \
    KXY_DATA_DIR=/var/lib/kxy-id
VOLUME ["/var/lib/kxy-id"]
EXPOSE 5801
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
    CMD curl -fsS http://127.0.0.1:5801/health >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/kxy-id-server"]
