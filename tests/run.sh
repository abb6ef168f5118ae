#!/bin/bash
# The test command: install what is needed, build against the installed
# Samba, then run the unit tests and the integration tests against Debian's
# real smbd, samba-dcerpcd, rpcclient and smbclient.  Fails if any fails.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

./tools/setup.sh

echo "== unit tests (cmocka)"
./build/test_policy

echo "== man pages"
./tools/build-man.sh

echo "== integration tests (real smbd on 127.0.0.1)"
cd tests/integration
exec /usr/bin/python3 -m pytest -v -p no:cacheprovider "$@"
