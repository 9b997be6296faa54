# msgd in a small runtime image. Build: docker build -t msgkit/msgd .
# The build stage compiles a release binary; the runtime stage is Debian slim with only that binary, running
# as an unprivileged user.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Build settings: mimalloc commits memory on demand (see the file).
COPY .cargo ./.cargo
COPY src ./src
RUN cargo build --release --locked --bin msgd && strip target/release/msgd

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/msgd --create-home msgd
COPY --from=build /src/target/release/msgd /usr/local/bin/msgd
USER 10001
ENV HOST=0.0.0.0 \
    PORT=4000 \
    MSGD_DATA_DIR=/var/lib/msgd \
    LOG_FORMAT=json
EXPOSE 4000
VOLUME ["/var/lib/msgd"]
ENTRYPOINT ["/usr/local/bin/msgd"]
