#!/bin/bash
# Build the man pages from docs/manpages/*.xml with Debian's docbook-xsl,
# validating each against the DocBook DTD from the local catalog.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build/man"
mkdir -p "$out"
xsl=/usr/share/xml/docbook/stylesheet/docbook-xsl/manpages/docbook.xsl
for page in "$here"/docs/manpages/*.xml; do
	# Samba's <smbconfoption/> is not DocBook: render it as a command.
	perl -0pe 's/<smbconfoption\s+name="([^"]*)"\s*\/>/<command>$1<\/command>/g' \
		"$page" > "$out/$(basename "$page")"
	xmllint --nonet --noout --valid "$out/$(basename "$page")"
	xsltproc --nonet -o "$out/" "$xsl" "$out/$(basename "$page")" 2>&1 |
		grep -v '^Note:' || true
	rm -f "$out/$(basename "$page")"
done
ls "$out"/*.8 > /dev/null
echo "man pages built in $out"
