#!/usr/bin/env bash
# Builds localhost/node-host:20, a stand-in for the official Node base image made from THIS machine's
# node, npm and C libraries, for machines that cannot pull docker.io/library/node (no registry access).
# Then:
#   buildah bud --isolation chroot --pull=never --build-arg NODE_IMAGE=localhost/node-host:20 -f Containerfile -t genkit-flow-gateway .
#   CONTAINER_NODE_IMAGE=localhost/node-host:20 node --import tsx --test tests/containerfile.test.ts
# It is not a production base image: use the official one wherever it can be pulled.
set -euo pipefail
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

mkdir -p "$root"/{usr/bin,usr/lib/node_modules,etc,tmp,root,home/node}
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/bin/node"
cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# A shell for npm scripts, sleep for a Kubernetes preStop, and every library they and node link.
for bin in /bin/sh /bin/sleep /usr/bin/env "$node_bin"; do
  cp --parents -L "$bin" "$root"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do cp --parents -L "$lib" "$root"; done
done
for lib in /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2 /etc/nsswitch.conf; do
  [ -e "$lib" ] && cp --parents -L "$lib" "$root"
done
# The CA bundle, so npm inside the build trusts the same registry (or egress proxy) this machine does.
[ -e /etc/ssl/certs/ca-certificates.crt ] && cp --parents -L /etc/ssl/certs/ca-certificates.crt "$root"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"
tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  - localhost/node-host:20
