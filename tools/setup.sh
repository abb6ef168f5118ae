#!/bin/bash
# Set everything up: Debian packages, the matching Samba tree (cached), the
# build.  Shared by the README's demo and test commands.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tools/install-deps.sh"
"$here/tools/build.sh"
