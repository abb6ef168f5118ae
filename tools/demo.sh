#!/bin/bash
# The demo command: install, build, then run the active profile of
# smb.conf.example on a private smbd + ipcguardd on 127.0.0.1 and show what
# an anonymous client can and cannot reach.  Stops everything it started.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
./tools/setup.sh
exec /usr/bin/python3 tools/demo.py "$@"
