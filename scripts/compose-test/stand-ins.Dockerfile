# Stand-ins for the official postgres, redis and nginx images, for
# scripts/compose-test.sh on a machine that reaches no image registry: each is
# the local Debian base (scripts/container-lib.sh) plus Debian's package, and
# takes what deploy/compose/cluster.yml gives the official image (the same
# environment variables, command and paths). Built with --target NAME.
ARG BASE_IMAGE=localhost/corkboard-test/debian:bookworm

# No service starts while packages install (there is no init here).
FROM ${BASE_IMAGE} AS base
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d

# PostgreSQL 15 (Debian's). Like the official image: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB make the cluster in PGDATA on first start;
# the command is `postgres ARGS...`; PGPORT sets the port.
FROM base AS postgres
RUN mkdir -p /etc/postgresql-common \
    && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
    && apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]

# Redis 7.0 (Debian's); the command is `redis-server ARGS...`. The official
# image is built with protected mode off (it is reached over the container
# network, without a password): the entrypoint adds --protected-mode no.
FROM base AS redis
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
USER redis
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$1\" = redis-server ]; then shift; exec redis-server --protected-mode no \"$@\"; fi; exec \"$@\"", "--"]
CMD ["redis-server"]

# nginx 1.22 (Debian's nginx-light) with /bin/sh and awk, as the official image has.
FROM base AS nginx
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /etc/nginx/sites-enabled/*
CMD ["nginx", "-g", "daemon off;"]
