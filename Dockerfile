# netspan image: Debian 12 (bookworm) with Node.js 20 and Debian's bpftrace.
#   docker build -t netspan:0.1.0 .
#
# node:20-bookworm(-slim) is the official Node.js 20 build on Debian 12
# (Debian 12's own nodejs package is 18). bpftrace comes from Debian 12 (0.17).

# ---- build: compile TypeScript with the dev dependencies ----
FROM node:20-bookworm AS build
WORKDIR /opt/netspan
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npx tsc -p tsconfig.json \
 && rm -rf dist/test dist/bench \
 && find dist -name '*.test.js*' -delete

# ---- runtime ----
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bpftrace ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/netspan
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /opt/netspan/dist ./dist
COPY bin ./bin
COPY probes ./probes
COPY pipelines ./pipelines

# No USER line: netspan runs as uid 0 on purpose. bpftrace refuses to run
# unless its effective uid is 0, and tracefs/debugfs files are owned by root
# with mode 0700/0600. Running as root is not running privileged: the Helm
# chart drops every capability but BPF, PERFMON and SYS_RESOURCE, forbids
# privilege escalation and mounts the root filesystem read-only
# (docs/deploy-kubernetes.md explains each one).
ENTRYPOINT ["/opt/netspan/bin/netspan", "run"]
CMD ["--config", "/opt/netspan/pipelines/default.yaml"]
