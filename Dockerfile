# syntax=docker/dockerfile:1
# Build: docker build -t chatfn .
# Offline builders: put the matching V8 archive in the build context as
#   v8/librusty_v8_simdutf_release_x86_64-unknown-linux-gnu.a.gz
# and it is used instead of downloading one.

FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends mold && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN if [ -f v8/librusty_v8_simdutf_release_x86_64-unknown-linux-gnu.a.gz ]; then \
      export RUSTY_V8_ARCHIVE=/src/v8/librusty_v8_simdutf_release_x86_64-unknown-linux-gnu.a.gz; \
    fi; \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold" \
    cargo build --release --locked && cp target/release/chatfn /chatfn

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --create-home chatfn
COPY --from=build /chatfn /usr/local/bin/chatfn
USER chatfn
WORKDIR /data
ENTRYPOINT ["chatfn"]
EXPOSE 8080
CMD ["serve", "--listen", "0.0.0.0:8080", "--database-url", "sqlite:///data/chatfn.db"]
