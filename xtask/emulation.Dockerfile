# Bench only (`cargo xtask emulation`), not a variant to copy: the same crate
# compiled for the target platform two ways, to measure what emulation costs.
# Each way ends in an image that runs the binary, so a build that did not do
# what it should cannot be timed.
ARG APP_NAME=my-project

# Cross: the builder runs on this machine's platform and links for the target,
# as dockerfiles/Dockerfile.multi-platform does (same script, same config).
FROM --platform=$BUILDPLATFORM rust:1.96-slim-trixie AS cross-toolchain
ARG TARGETOS TARGETARCH
WORKDIR /app
COPY scripts/build_dist_release.sh /usr/local/bin/
RUN build_dist_release.sh "$TARGETOS" "$TARGETARCH"

# Emulated: what a Dockerfile without --platform does. The builder is the
# target platform's, so on a foreign platform every rustc runs under qemu.
# Debian's rustc-web, the compiler the offline rust stand-in carries: the
# official rust image's arm64 half is not reachable here.
FROM debian:trixie-slim AS emulated-toolchain
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev rustc-web cargo-web \
    && rm -rf /var/lib/apt/lists/*
# cargo's trust store: the rust image's, which carries the proxy's CA offline.
COPY --from=cross-toolchain /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
WORKDIR /app

FROM cross-toolchain AS cross
ARG APP_NAME
COPY . .
# A new RUN_ID per measurement: cargo compiles everything again, while the
# toolchain steps above stay cached and out of the figure.
ARG RUN_ID=0
RUN echo "run $RUN_ID" && cargo build --release --locked \
    && cp target/*/release/"$APP_NAME" /app/built

FROM emulated-toolchain AS emulated
ARG APP_NAME
COPY . .
ARG RUN_ID=0
RUN echo "run $RUN_ID" && cargo build --release --locked \
    && cp "target/release/$APP_NAME" /app/built

# No apt-get in the images: only the compile is measured.
FROM debian:trixie-slim AS cross-image
COPY --from=cross /app/built /usr/local/bin/app
ENTRYPOINT ["/usr/local/bin/app"]

FROM debian:trixie-slim AS emulated-image
COPY --from=emulated /app/built /usr/local/bin/app
ENTRYPOINT ["/usr/local/bin/app"]
