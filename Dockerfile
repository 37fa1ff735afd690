# lagoon's container image: a static binary on an empty base, run as a
# non-root user. Its entrypoint is lagoon: `run` workers on ECS or
# Kubernetes (docker run IMAGE run --root s3://bucket/lake --queue q).
#
#   docker build -t lagoon .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lagoon ./cmd/lagoon

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lagoon /lagoon
USER nonroot:nonroot
ENTRYPOINT ["/lagoon"]
