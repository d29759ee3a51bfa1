# Local stand-in for the official rust:<version>-slim-<suite> image, for machines
# that reach Debian's mirror and crates.io but no container registry.
# Laid out like the official image (RUSTUP_HOME, CARGO_HOME, cargo on PATH,
# gcc and libc6-dev), but the toolchain is Debian's rustc-web/cargo-web and
# there is no rustup: the aarch64 standard library is installed up front, since
# `rustup target add` has nothing to run with. base-images.sh checks that
# `rustc --version` matches the tag it publishes this under.
ARG SUITE=trixie
FROM debian:${SUITE}-slim
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH
# The host's CA bundle: HTTPS behind a TLS-inspecting proxy (a corporate one,
# or this project's CI) is re-signed by a CA that only the host trusts.
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/host-ca-bundle.crt
RUN dpkg --add-architecture arm64 \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates gcc libc6-dev rustc-web cargo-web libstd-rust-web-dev:arm64 \
    && rm -rf /var/lib/apt/lists/* \
    && update-ca-certificates \
    && mkdir -p "$CARGO_HOME/bin" "$RUSTUP_HOME" \
    && ln -s /usr/bin/cargo /usr/bin/rustc /usr/bin/rustdoc "$CARGO_HOME/bin/"
