#!/bin/sh
# The official image compiles protected mode off; Debian's build has it on.
set -e
if [ "$1" = "redis-server" ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
