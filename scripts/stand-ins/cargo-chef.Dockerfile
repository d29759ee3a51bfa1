# Local stand-in for lukemathwalker/cargo-chef:<cargo-chef version>-rust-<version>-slim-<suite>:
# the rust image with cargo-chef installed, as the official one is made.
ARG RUST_IMAGE
FROM ${RUST_IMAGE}
ARG CHEF_VERSION
RUN cargo install cargo-chef --locked --version "${CHEF_VERSION}" \
    && rm -rf "$CARGO_HOME/registry"
